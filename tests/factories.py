"""Rows for tests, written straight to the database (the planning code has its own tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from outage_notify.models import (
    Customer,
    Notice,
    Outage,
    OutageRevision,
    ServiceArea,
    Subscriber,
)

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai


def square(lon: float, lat: float, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def add_area(
    session: Session,
    code: str,
    utility: str = "water",
    lon: float = 121.0,
    lat: float = 31.0,
    name: str | None = None,
    name_en: str | None = None,
) -> ServiceArea:
    area = ServiceArea(
        code=code,
        name=name or code,
        name_en=name_en,
        utility=utility,
        geometry=square(lon, lat),
        min_lon=lon,
        min_lat=lat,
        max_lon=lon + 0.1,
        max_lat=lat + 0.1,
    )
    session.add(area)
    session.flush()
    return area


def add_customers(
    session: Session, count: int, *, area: str = "W1", start: int = 0, **values: Any
) -> list[Customer]:
    rows = []
    for i in range(start, start + count):
        fields: dict[str, Any] = {
            "account_id": f"A{i:06d}",
            "phone": f"+86138{i:08d}",
            "email": f"c{i}@example.org",
            "language": "zh-CN" if i % 2 == 0 else "en",
            "water_area": area,
        }
        fields.update(values)
        rows.append(Customer(**fields))
    session.add_all(rows)
    session.flush()
    return rows


def add_outage(
    session: Session,
    *,
    codes: list[str] | None = None,
    utility: str = "water",
    start: datetime = T0 + timedelta(days=2),
    hours: int = 4,
    title: str = "Main replacement",
) -> Outage:
    outage = Outage(
        utility=utility,
        title=title,
        description="Replacing a 300 mm main.",
        start_at=start,
        end_at=start + timedelta(hours=hours),
        area_codes=codes or ["W1"],
    )
    session.add(outage)
    session.flush()
    assert outage.id is not None
    session.add(
        OutageRevision(
            outage_id=outage.id,
            revision=1,
            change="created",
            title=outage.title,
            description=outage.description,
            start_at=outage.start_at,
            end_at=outage.end_at,
            area_codes=outage.area_codes,
            status=outage.status,
            actor="test",
        )
    )
    session.flush()
    return outage


def add_notice(
    session: Session,
    outage: Outage,
    *,
    due: datetime = T0,
    kind: str = "advance",
    audience: str = "all",
    sms_due: datetime | None = None,
    deadline: datetime | None = None,
    revision: int | None = None,
) -> Notice:
    assert outage.id is not None
    notice = Notice(
        outage_id=outage.id,
        revision=revision or outage.revision,
        kind=kind,
        audience=audience,
        due_at=due,
        sms_due_at=sms_due or due,
        deadline=deadline or outage.start_at,
    )
    session.add(notice)
    session.flush()
    return notice


def add_customer(session: Session, account_id: str, **values: Any) -> Customer:
    """One customer, by hand: ``add_customer(s, "A1", phone=..., water_area="W1")``."""
    values.setdefault("language", "zh-CN")
    row = Customer(account_id=account_id, **values)
    session.add(row)
    session.flush()
    return row


def add_revision(
    session: Session,
    outage: Outage,
    *,
    change: str,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> Outage:
    """A later revision of ``outage``, as the planning code writes one (rescheduled, ...)."""
    assert outage.id is not None
    outage.revision += 1
    outage.start_at = start or outage.start_at
    outage.end_at = end or outage.end_at
    outage.status = status or outage.status
    if status == "cancelled":
        outage.cancel_reason = reason
    session.add(outage)
    session.add(
        OutageRevision(
            outage_id=outage.id,
            revision=outage.revision,
            change=change,
            title=outage.title,
            description=outage.description,
            start_at=outage.start_at,
            end_at=outage.end_at,
            area_codes=outage.area_codes,
            status=outage.status,
            reason=reason,
            actor="test",
        )
    )
    session.flush()
    return outage


def cancel_outage(session: Session, outage: Outage, reason: str = "plan changed") -> Outage:
    return add_revision(session, outage, change="cancelled", status="cancelled", reason=reason)


def restore_outage(session: Session, outage: Outage, at: datetime) -> Outage:
    add_revision(session, outage, change="restored", status="restored")
    outage.restored_at = at
    session.add(outage)
    session.flush()
    return outage


def add_subscriber(
    session: Session,
    channel: str,
    address: str,
    *,
    area: str = "W1",
    consent_at: datetime | None = T0,
    source: str = "web",
    status: str = "active",
) -> Subscriber:
    row = Subscriber(
        channel=channel,
        address=address,
        area_code=area,
        language="zh-CN",
        status=status,
        consent_source=source,
        consent_at=consent_at,
    )
    session.add(row)
    session.flush()
    return row
