"""A critical-needs customer says they heard: reply 1 to the SMS, or press 1 on the call.

An acknowledgement closes the customer's open escalations (delivery/escalation.py climbs the
ladder: call, then the door-knock list) and is recorded as one of its steps, so the outage
report shows who was reached how and when. One on the door-knock list already comes off it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from outage_notify.models import Customer, Escalation, EscalationEvent, EscalationStep

log = logging.getLogger(__name__)

# Stages of a ladder still climbing: an acknowledgement stops it there.
OPEN_STAGES = ("waiting", "calling", "door_knock")


def acknowledge(
    session: Session,
    *,
    customer_ids: list[int],
    via: str,
    now: datetime,
    outage_id: int | None = None,
) -> int:
    """Close the open escalations of these customers (of one outage when given): how many."""
    if not customer_ids:
        return 0
    query = select(Escalation).where(
        col(Escalation.customer_id).in_(customer_ids), col(Escalation.stage).in_(OPEN_STAGES)
    )
    if outage_id is not None:
        query = query.where(Escalation.outage_id == outage_id)
    count = 0
    for escalation in session.exec(query).all():
        assert escalation.id is not None
        was = escalation.stage
        escalation.stage = "acknowledged"
        escalation.acknowledged_at = now
        escalation.acknowledged_via = via[:8]
        escalation.updated_at = now
        session.add(escalation)
        detail = "taken off the door-knock list" if was == "door_knock" else ""
        session.add(
            EscalationEvent(
                escalation_id=escalation.id,
                at=now,
                step=EscalationStep.ACKNOWLEDGED,
                channel=via[:8],
                detail=detail,
            )
        )
        log.info(
            "critical customer acknowledged",
            extra={
                "customer_id": escalation.customer_id,
                "outage_id": escalation.outage_id,
                "via": via,
            },
        )
        count += 1
    return count


def acknowledge_phone(session: Session, phone: str, now: datetime, *, via: str = "sms") -> int:
    """Reply 1 from ``phone``: every customer with that number acknowledges."""
    ids = session.exec(select(Customer.id).where(Customer.phone == phone)).all()
    return acknowledge(session, customer_ids=[i for i in ids if i is not None], via=via, now=now)


def awaiting_acknowledgement(session: Session, *, phone: str) -> bool:
    """Does a customer with this number have a ladder waiting for their "1"?"""
    found = session.exec(
        select(Escalation.id)
        .join(Customer, col(Customer.id) == col(Escalation.customer_id))
        .where(Customer.phone == phone, col(Escalation.stage).in_(OPEN_STAGES))
        .limit(1)
    ).first()
    return found is not None
