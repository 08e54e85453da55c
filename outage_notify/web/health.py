"""``GET /healthz``: the database, the scheduler's heartbeat and the backlog."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import DaemonState, Delivery, DeliveryState, Notice, NoticeState
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.published import Published, published

router = APIRouter()


@router.get("/healthz")
def healthz(
    database: Annotated[Database, Depends(deps.database)],
    settings: Annotated[Settings, Depends(deps.settings)],
    now: Annotated[datetime, Depends(deps.now)],
    site: Annotated[Published, Depends(published)],
) -> JSONResponse:
    try:
        body = _status(database, settings, now)
        unpublished = site.view().snapshot.unpublished
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    # Still 200: the rest is published, and a load balancer must not pull every page for one
    # bad outage. A monitor reads "degraded" and the list.
    body["publication"] = {
        "unpublished": [{"outage": u.outage_id, "reason": u.reason} for u in unpublished]
    }
    if unpublished:
        body["status"] = "degraded"
    return JSONResponse(body)


def _status(database: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    with database.read() as session:
        state = session.get(DaemonState, "scheduler")
        due_deliveries = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(
                col(Delivery.state) == DeliveryState.PENDING, col(Delivery.next_attempt_at) <= now
            )
        ).one()
        due_notices = session.exec(
            select(func.count())
            .select_from(Notice)
            .where(
                col(Notice.state) == NoticeState.PENDING,
                or_(col(Notice.due_at) <= now, col(Notice.sms_due_at) <= now),
            )
        ).one()
    last_tick = state.last_tick_at if state else None
    # Three missed ticks and the scheduler is presumed down.
    stale_after = timedelta(seconds=3 * settings.schedule.tick_seconds + 60)
    return {
        "status": "ok",
        "database": "ok",
        "scheduler": {
            "holder": state.holder if state else None,
            "last_tick_at": last_tick.isoformat() if last_tick else None,
            "next_wake_at": state.next_wake_at.isoformat()
            if state and state.next_wake_at
            else None,
            "stale": last_tick is None or now - last_tick > stale_after,
        },
        "backlog": {"deliveries_due": due_deliveries, "notices_due": due_notices},
    }
