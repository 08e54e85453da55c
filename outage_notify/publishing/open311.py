"""Open311 GeoReport v2 documents: the service list and the service requests.

Two services. ``nowater`` ("no water after restoration", realtime): the residents' reports
(SMS ``NOWATER``, the outage page's form, a POST from the 311 system or hotline desk).
``planned_outage`` (read-only): the planned outages of the public window, each a request
whose ``service_notice`` is the public line the banner shows. Public GETs carry no personal
data: a report is located by its area (name and the centre of its bounding box), never by
the premise, and its Open311 description is not served back. Times are ISO 8601 with the
configured zone's offset (``w3c`` format, as the spec asks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from channels.feeds import FeedOutage
from outage_notify.models import NoWaterAlert, NoWaterReport, Outage, ServiceArea
from outage_notify.settings import Settings

NOWATER = "nowater"
PLANNED_OUTAGE = "planned_outage"
DEFAULT_SPAN = timedelta(days=90)  # the spec's default window for GET requests
MAX_REQUESTS = 1000  # the spec's suggested cap on one answer
_SERVICE_NAMES = {
    NOWATER: {"en": "No water after restoration", "zh-CN": "恢复供水后仍然没水"},
    PLANNED_OUTAGE: {"en": "Planned water or gas shutoff", "zh-CN": "计划停水停气"},
}


def services(settings: Settings, language: str) -> list[dict[str, Any]]:
    words = "en" if language == "en" else "zh-CN"
    return [
        {
            "service_code": NOWATER,
            "service_name": _SERVICE_NAMES[NOWATER][words],
            "description": "A premise still without water after a planned water outage was "
            "restored. Give lat and long, or account_id. Hotline " + settings.hotline + ".",
            "metadata": False,
            "type": "realtime",
            "keywords": "water,outage,restoration,valve",
            "group": "water",
        },
        {
            "service_code": PLANNED_OUTAGE,
            "service_name": _SERVICE_NAMES[PLANNED_OUTAGE][words],
            "description": "Planned shutoffs, listed as service notices; read-only (a POST "
            "for this service is refused).",
            "metadata": False,
            "type": "blackbox",
            "keywords": "water,gas,shutoff,planned",
            "group": "notices",
        },
    ]


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()  # service_request_id values
    service_codes: tuple[str, ...] = ()
    status: str | None = None  # open | closed
    start: datetime | None = None
    end: datetime | None = None


def _centres(session: Session, codes: Iterable[str]) -> dict[str, tuple[float, float, str]]:
    """(lat, long, name) of each area: the centre of its bounding box."""
    rows = session.exec(
        select(ServiceArea).where(col(ServiceArea.code).in_(sorted(set(codes))))
    ).all()
    return {
        a.code: ((a.min_lat + a.max_lat) / 2, (a.min_lon + a.max_lon) / 2, a.name) for a in rows
    }


def report_requests(
    session: Session, settings: Settings, query: RequestQuery, now: datetime
) -> list[dict[str, Any]]:
    start = query.start or now - DEFAULT_SPAN
    end = query.end or now
    statement = (
        select(NoWaterReport, Outage)
        .join(Outage, col(Outage.id) == NoWaterReport.outage_id)
        .order_by(col(NoWaterReport.id).desc())
        .limit(MAX_REQUESTS)
    )
    wanted = [int(i[len("nowater-") :]) for i in query.ids if i.startswith("nowater-")]
    if query.ids:
        statement = statement.where(col(NoWaterReport.id).in_(wanted))
    else:
        statement = statement.where(
            col(NoWaterReport.reported_at) >= start, col(NoWaterReport.reported_at) <= end
        )
    rows = session.exec(statement).all()
    counts = _counts(session, {r.outage_id for r, _ in rows})
    alerts = {
        (a.outage_id, a.area_code)
        for a in session.exec(
            select(NoWaterAlert).where(
                col(NoWaterAlert.outage_id).in_(sorted({r.outage_id for r, _ in rows}))
            )
        ).all()
    }
    centres = _centres(session, (r.area_code for r, _ in rows))
    zone = settings.zone
    documents = []
    for report, outage in rows:
        lat, lon, name = centres.get(report.area_code, (None, None, report.area_code))
        closed = outage.restored_at is None or now > outage.restored_at + settings.nowater.window
        count = counts.get((report.outage_id, report.area_code), 0)
        notice = f"Tied to outage {outage.id} ({outage.title}); {count} report(s) from {name}"
        if (report.outage_id, report.area_code) in alerts:
            notice += "; the dispatch desk has been alerted"
        documents.append(
            {
                "service_request_id": f"nowater-{report.id}",
                "status": "closed" if closed else "open",
                "status_notes": "reports are taken for "
                f"{int(settings.nowater.window.total_seconds() // 3600)} h after a restoration",
                "service_name": _SERVICE_NAMES[NOWATER]["en"],
                "service_code": NOWATER,
                "description": f"No water after restoration in {name}",
                "agency_responsible": "",
                "service_notice": notice,
                "requested_datetime": report.reported_at.astimezone(zone).isoformat(),
                "updated_datetime": report.reported_at.astimezone(zone).isoformat(),
                "expected_datetime": None,
                "address": name,
                "address_id": report.area_code,
                "zipcode": None,
                "lat": lat,
                "long": lon,
                "media_url": None,
            }
        )
    return documents


def _counts(session: Session, outage_ids: set[int]) -> dict[tuple[int, str], int]:
    rows = session.exec(
        select(NoWaterReport.outage_id, NoWaterReport.area_code, func.count())
        .where(col(NoWaterReport.outage_id).in_(sorted(outage_ids)))
        .group_by(col(NoWaterReport.outage_id), col(NoWaterReport.area_code))
    ).all()
    return {(int(o), str(a)): int(n) for o, a, n in rows}


def notice_requests(
    session: Session,
    settings: Settings,
    outages: Sequence[FeedOutage],
    query: RequestQuery,
    language: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The outages of the public window as read-only service notices."""
    wanted = {i for i in query.ids if i.startswith("outage-")}
    centres = _centres(session, (a.code for o in outages for a in o.areas))
    documents = []
    for outage in outages:
        request_id = f"outage-{outage.id}"
        if query.ids and request_id not in wanted:
            continue
        if not query.ids and not (
            (query.start is None or outage.created >= query.start)
            and (query.end is None or outage.created <= query.end)
        ):
            continue
        text = outage.text(language)
        first = centres.get(outage.areas[0].code) if outage.areas else None
        ended = outage.status != "planned" or outage.end <= now
        documents.append(
            {
                "service_request_id": request_id,
                "status": "closed" if ended else "open",
                "status_notes": outage.state.lower(),
                "service_name": _SERVICE_NAMES[PLANNED_OUTAGE]["en"],
                "service_code": PLANNED_OUTAGE,
                "description": outage.description or outage.title,
                "agency_responsible": text.sender_name,
                "service_notice": text.line,
                "requested_datetime": outage.created.isoformat(),
                "updated_datetime": outage.updated.isoformat(),
                "expected_datetime": (outage.restored_at or outage.end).isoformat(),
                "address": "、".join(text.area_names)
                if language == "zh-CN"
                else ", ".join(text.area_names),
                "address_id": ";".join(a.code for a in outage.areas),
                "zipcode": None,
                "lat": first[0] if first else None,
                "long": first[1] if first else None,
                "media_url": outage.url,
            }
        )
    return documents


def requests(
    session: Session,
    settings: Settings,
    outages: Sequence[FeedOutage],
    query: RequestQuery,
    language: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """GET requests.json: both services, newest first, at most ``MAX_REQUESTS``."""
    codes = set(query.service_codes) or {NOWATER, PLANNED_OUTAGE}
    found: list[dict[str, Any]] = []
    if NOWATER in codes:
        found += report_requests(session, settings, query, now)
    if PLANNED_OUTAGE in codes:
        found += notice_requests(session, settings, outages, query, language, now)
    if query.status:
        found = [r for r in found if r["status"] == query.status]
    found.sort(key=lambda r: r["requested_datetime"], reverse=True)
    return found[:MAX_REQUESTS]
