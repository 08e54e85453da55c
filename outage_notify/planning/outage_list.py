"""Listing outages through SQLAlchemy Core: ``outages list`` reads rows, not models.

Importing the models (SQLModel over pydantic) costs more than the whole command otherwise
does, so the list reads the ``outage`` table through the columns below and describes a row
as :func:`describe_outage` describes an ``Outage`` (``tests/planning/test_outage_list.py``
holds these columns to the model's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, Integer, String, column, select, table
from sqlalchemy.engine import Connection, Row

from outage_notify.db import UTCDateTime
from outage_notify.times import iso_local

if TYPE_CHECKING:
    from outage_notify.models import Outage

OUTAGE = table(
    "outage",
    column("id", Integer()),
    column("ref", String()),
    column("utility", String()),
    column("title", String()),
    column("description", String()),
    column("start_at", UTCDateTime()),
    column("end_at", UTCDateTime()),
    column("area_codes", JSON()),
    column("status", String()),
    column("revision", Integer()),
    column("short_notice", Boolean()),
    column("cancel_reason", String()),
    column("restored_at", UTCDateTime()),
    column("created_by", String()),
)


def outage_rows(
    connection: Connection, *, status: str | None = None, utility: str | None = None
) -> list[Row[Any]]:
    """Outages by start time (then id), as rows of ``OUTAGE``'s columns."""
    query = select(OUTAGE).order_by(OUTAGE.c.start_at, OUTAGE.c.id)
    if status is not None:
        query = query.where(OUTAGE.c.status == status)
    if utility is not None:
        query = query.where(OUTAGE.c.utility == utility)
    return list(connection.execute(query).all())


def describe_outage(outage: Outage | Row[Any], zone: ZoneInfo) -> dict[str, Any]:
    """The outage (a model or a row of ``OUTAGE``) as JSON-ready data, times local with
    their offset."""
    return {
        "id": outage.id,
        "ref": outage.ref,
        "utility": outage.utility,
        "title": outage.title,
        "description": outage.description,
        "start": iso_local(outage.start_at, zone),
        "end": iso_local(outage.end_at, zone),
        "areas": list(outage.area_codes),
        "status": outage.status,
        "revision": outage.revision,
        "short_notice": outage.short_notice,
        "cancel_reason": outage.cancel_reason,
        "restored_at": iso_local(outage.restored_at, zone),
        "created_by": outage.created_by,
    }
