"""Rows for the SMS tests: areas, customers, outages, notices and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from outage_notify.models import (
    Customer,
    Delivery,
    Notice,
    Outage,
    ServiceArea,
    Subscriber,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    ring = [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def add_area(
    session: Session,
    code: str,
    name: str,
    name_en: str | None = None,
    *,
    utility: str = "water",
    lon: float = 120.0,
    lat: float = 30.0,
    size: float = 0.01,
) -> ServiceArea:
    area = ServiceArea(
        code=code,
        name=name,
        name_en=name_en,
        utility=utility,
        geometry=square(lon, lat, size),
        min_lon=lon,
        min_lat=lat,
        max_lon=lon + size,
        max_lat=lat + size,
    )
    session.add(area)
    session.flush()
    return area


def add_customer(session: Session, account_id: str, phone: str, **fields: Any) -> Customer:
    values: dict[str, Any] = {"language": "zh-CN", **fields}
    customer = Customer(account_id=account_id, phone=phone, **values)
    session.add(customer)
    session.flush()
    return customer


def add_subscriber(
    session: Session, address: str, area_code: str, *, language: str = "en", status: str = "active"
) -> Subscriber:
    subscriber = Subscriber(
        channel="sms",
        address=address,
        area_code=area_code,
        language=language,
        status=status,
        consent_source="web",
        consent_at=NOW,
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def add_outage(
    session: Session,
    areas: list[str],
    *,
    utility: str = "water",
    start: datetime | None = None,
    hours: float = 4,
    status: str = "planned",
    title: str = "Main replacement",
) -> Outage:
    start = start or NOW + timedelta(days=1)
    outage = Outage(
        utility=utility,
        title=title,
        start_at=start,
        end_at=start + timedelta(hours=hours),
        area_codes=areas,
        status=status,
    )
    session.add(outage)
    session.flush()
    return outage


def add_delivery(
    session: Session,
    *,
    address: str = "+8613800138000",
    state: str = "sent",
    provider_id: str | None = "SM" + "0" * 32,
    customer_id: int | None = None,
) -> Delivery:
    outage = add_outage(session, ["A1"])
    notice = Notice(
        outage_id=outage.id or 0,
        revision=1,
        kind="advance",
        due_at=NOW,
        sms_due_at=NOW,
        deadline=outage.start_at,
    )
    session.add(notice)
    session.flush()
    delivery = Delivery(
        notice_id=notice.id or 0,
        channel="sms",
        address=address,
        customer_id=customer_id,
        language="zh-CN",
        state=state,
        next_attempt_at=NOW,
        deadline=outage.start_at,
        provider_id=provider_id,
        sent_at=NOW if state == "sent" else None,
    )
    session.add(delivery)
    session.flush()
    return delivery
