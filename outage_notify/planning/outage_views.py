"""Reading outages back: lists, revision history, notices, and their JSON-ready forms.

Times in the described forms are local (``timezone``) ISO 8601 with the offset.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from outage_notify.models import Notice, Outage, OutageRevision
from outage_notify.planning.outage_list import describe_outage
from outage_notify.times import iso_local


def list_outages(
    session: Session, *, status: str | None = None, utility: str | None = None
) -> list[Outage]:
    query = select(Outage).order_by(col(Outage.start_at), col(Outage.id))
    if status is not None:
        query = query.where(Outage.status == status)
    if utility is not None:
        query = query.where(Outage.utility == utility)
    return list(session.exec(query).all())


def revisions(session: Session, outage_id: int) -> list[OutageRevision]:
    return list(
        session.exec(
            select(OutageRevision)
            .where(OutageRevision.outage_id == outage_id)
            .order_by(col(OutageRevision.revision))
        ).all()
    )


def notices(session: Session, outage_id: int) -> list[Notice]:
    return list(
        session.exec(
            select(Notice)
            .where(Notice.outage_id == outage_id)
            .order_by(col(Notice.revision), col(Notice.due_at), col(Notice.id))
        ).all()
    )


def describe_notice(notice: Notice, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": notice.id,
        "revision": notice.revision,
        "kind": notice.kind,
        "audience": notice.audience,
        "due_at": iso_local(notice.due_at, zone),
        "sms_due_at": iso_local(notice.sms_due_at, zone),
        "shifted_for_quiet_hours": notice.shifted_for_quiet_hours,
        "urgent": notice.urgent,
        "deadline": iso_local(notice.deadline, zone),
        "state": notice.state,
    }


def describe_revision(row: OutageRevision, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "revision": row.revision,
        "change": row.change,
        "start": iso_local(row.start_at, zone),
        "end": iso_local(row.end_at, zone),
        "status": row.status,
        "title": row.title,
        "reason": row.reason,
        "actor": row.actor,
        "at": iso_local(row.created_at, zone),
    }


def outage_detail(
    session: Session, outage: Outage, zone: ZoneInfo, *, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``outages show`` and ``GET /api/outages/{id}``: the outage, what the face adds
    (``extra``: the API its URL, the CLI its pipes), its history and its notices."""
    assert outage.id is not None
    data = {**describe_outage(outage, zone), **(extra or {})}
    data["revisions"] = [describe_revision(r, zone) for r in revisions(session, outage.id)]
    data["notices"] = [describe_notice(n, zone) for n in notices(session, outage.id)]
    return data
