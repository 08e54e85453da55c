"""Rows for the web tests: service areas, outages and their revisions, written directly.

The outage lifecycle (planning) is built elsewhere; these helpers write what it writes: an
``Outage`` row plus one ``OutageRevision`` per revision (revision 1, ``created``, at creation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from outage_notify.db import Database
from outage_notify.models import Outage, OutageRevision, ServiceArea

# The tests' "now": Tuesday 1 December 2026, 08:00 in Shanghai.
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> ]]> &amp; 🚰💧 \u200fمرحبا\u200e <img src=x onerror=alert(2)>"


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    """A GeoJSON Polygon's coordinates: a closed square ring from (lon, lat)."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return [ring]


def add_area(
    session: Session,
    code: str,
    *,
    utility: str = "water",
    name: str | None = None,
    name_en: str | None = None,
    geometry: dict[str, Any] | None = None,
    lon: float = 121.47,
    lat: float = 31.23,
) -> ServiceArea:
    geometry = geometry or {"type": "Polygon", "coordinates": square(lon, lat)}
    points = [
        p
        for polygon in (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for ring in polygon
        for p in ring
    ]
    area = ServiceArea(
        code=code,
        name=name or f"{code} 区",
        name_en=name_en if name_en is not None else f"{code} district",
        utility=utility,
        geometry=geometry,
        min_lon=min(p[0] for p in points),
        min_lat=min(p[1] for p in points),
        max_lon=max(p[0] for p in points),
        max_lat=max(p[1] for p in points),
    )
    session.add(area)
    session.flush()
    return area


def add_outage(
    session: Session,
    *,
    areas: Sequence[str] = ("A1",),
    utility: str = "water",
    title: str = "Main replacement",
    description: str = "",
    start: datetime = NOW + timedelta(days=2),
    hours: float = 4,
    end: datetime | None = None,
    created: datetime = NOW - timedelta(days=3),
    ref: str | None = None,
) -> Outage:
    end = end or start + timedelta(hours=hours)
    outage = Outage(
        ref=ref,
        utility=utility,
        title=title,
        description=description,
        start_at=start,
        end_at=end,
        area_codes=list(areas),
        created_at=created,
        updated_at=created,
    )
    session.add(outage)
    session.flush()
    session.add(_revision(outage, "created", created))
    session.flush()
    return outage


def revise(
    session: Session,
    outage: Outage,
    change: str,
    *,
    at: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    reason: str | None = None,
) -> Outage:
    """Apply a change as the lifecycle does: a new revision row, the outage row updated."""
    outage.revision += 1
    outage.start_at = start or outage.start_at
    outage.end_at = end or outage.end_at
    outage.updated_at = at
    if change == "cancelled":
        outage.status = "cancelled"
        outage.cancel_reason = reason
    elif change == "restored":
        outage.status = "restored"
        outage.restored_at = at
    session.add(outage)
    session.add(_revision(outage, change, at, reason=reason))
    session.flush()
    return outage


def _revision(
    outage: Outage, change: str, at: datetime, reason: str | None = None
) -> OutageRevision:
    assert outage.id is not None
    return OutageRevision(
        outage_id=outage.id,
        revision=outage.revision,
        change=change,
        title=outage.title,
        description=outage.description,
        start_at=outage.start_at,
        end_at=outage.end_at,
        area_codes=list(outage.area_codes),
        status=outage.status,
        reason=reason,
        created_at=at,
    )


@dataclass
class City:
    """A small city: two water areas, one gas area, and a few outages around ``NOW``."""

    ids: dict[str, int] = field(default_factory=dict)


def build_city(database: Database) -> City:
    city = City()
    with database.session() as s:
        add_area(s, "A1", name="中山路", name_en="Zhongshan Rd", lon=121.47, lat=31.23)
        add_area(s, "A2", name="人民路", name_en="Renmin Rd", lon=121.49, lat=31.23)
        add_area(s, "G1", utility="gas", name="南京路", name_en="Nanjing Rd", lon=121.47, lat=31.25)
        upcoming = add_outage(s, areas=["A1"], title="Upcoming A1", start=NOW + timedelta(days=2))
        live = add_outage(s, areas=["A2"], title="Live A2", start=NOW - timedelta(hours=1), hours=6)
        gas = add_outage(
            s, areas=["G1"], utility="gas", title="Gas G1", start=NOW + timedelta(hours=30)
        )
        changed = add_outage(s, areas=["A1", "A2"], title="Changed A1+A2")
        revise(
            s,
            changed,
            "rescheduled",
            at=NOW - timedelta(days=1),
            start=NOW + timedelta(days=3),
            end=NOW + timedelta(days=3, hours=5),
        )
        cancelled = add_outage(s, areas=["A1"], title="Cancelled A1")
        revise(s, cancelled, "cancelled", at=NOW - timedelta(days=2), reason="Crew unavailable")
        restored = add_outage(
            s, areas=["A2"], title="Restored A2", start=NOW - timedelta(days=2), hours=8
        )
        revise(s, restored, "restored", at=NOW - timedelta(days=2) + timedelta(hours=5))
        ended = add_outage(
            s, areas=["A1"], title="Ended 3 days ago", start=NOW - timedelta(days=3), hours=4
        )
        old = add_outage(
            s,
            areas=["A1"],
            title="Ended 8 days ago",
            start=NOW - timedelta(days=8),
            hours=4,
            created=NOW - timedelta(days=20),
        )
        old_cancel = add_outage(
            s,
            areas=["A1"],
            title="Cancelled 9 days ago",
            start=NOW + timedelta(days=5),
            created=NOW - timedelta(days=20),
        )
        revise(s, old_cancel, "cancelled", at=NOW - timedelta(days=9))
        for name, row in [
            ("upcoming", upcoming),
            ("live", live),
            ("gas", gas),
            ("changed", changed),
            ("cancelled", cancelled),
            ("restored", restored),
            ("ended", ended),
            ("old", old),
            ("old_cancel", old_cancel),
        ]:
            assert row.id is not None
            city.ids[name] = row.id
    return city
