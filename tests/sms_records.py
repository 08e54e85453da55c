"""Rows for the SMS tests, on top of ``tests/factories.py``: areas with names in both
languages, customers with a phone, subscribers, and SMS deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from outage_notify.models import Customer, Delivery, Outage, ServiceArea, Subscriber
from tests import factories

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def add_area(
    session: Session,
    code: str,
    name: str,
    name_en: str | None = None,
    *,
    utility: str = "water",
    lon: float = 120.0,
    lat: float = 30.0,
) -> ServiceArea:
    """An area with a name in each language (a 0.1 degree square at lon, lat)."""
    return factories.add_area(session, code, utility, lon, lat, name=name, name_en=name_en)


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
    hours: int = 4,
    status: str = "planned",
) -> Outage:
    outage = factories.add_outage(
        session, codes=areas, utility=utility, start=start or NOW + timedelta(days=1), hours=hours
    )
    outage.status = status
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
    notice = factories.add_notice(session, outage, due=NOW)
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
