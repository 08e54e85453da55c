"""What providers report back: delivery status callbacks, and what an error teaches about a
contact (the number is invalid, or the recipient opted out at the provider).

Callbacks arrive late, twice and out of order, so a report only ever moves a delivery
forward: sending < sent < delivered | undelivered | failed. A late "sent" after "delivered"
changes nothing, and the first final state wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from channels.sms import ERROR_DESCRIPTIONS, flag_for_error_code
from outage_notify import audit, registry
from outage_notify.models import Customer, Delivery, DeliveryState
from outage_notify.residents import optouts

log = logging.getLogger(__name__)

# Twilio reports the status of the SMS it was given: the channel these callbacks are about.
TWILIO = registry.SMS.name

# Skipped, expired and superseded are absent: a provider never moves those.
STATE_RANK = {
    DeliveryState.PENDING: 0,
    DeliveryState.SENDING: 1,
    DeliveryState.SENT: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.UNDELIVERED: 3,
    DeliveryState.FAILED: 3,
}

# Twilio's MessageStatus values. "read" is WhatsApp's "delivered and seen"; "canceled" (a
# scheduled message withdrawn) and "receiving"/"received" (inbound) map to nothing.
TWILIO_STATUSES = {
    "queued": DeliveryState.SENDING,
    "accepted": DeliveryState.SENDING,
    "scheduled": DeliveryState.SENDING,
    "sending": DeliveryState.SENDING,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.UNDELIVERED,
    "failed": DeliveryState.FAILED,
}


class Outcome(StrEnum):
    UPDATED = "updated"  # the delivery moved forward or learned its error code
    UNCHANGED = "unchanged"  # a duplicate, or older news than the delivery already has
    UNKNOWN = "unknown"  # no delivery has this message SID


@dataclass(frozen=True)
class StatusReport:
    """One status callback: Twilio's ``MessageSid``, ``MessageStatus`` and ``ErrorCode``."""

    sid: str
    status: str
    error_code: str | None = None
    # Our own delivery id, carried in the callback URL: it finds the row when the callback
    # beats the dispatcher's write of the SID.
    delivery_id: int | None = None


def advance(delivery: Delivery, state: DeliveryState, *, now: datetime) -> bool:
    """Move ``delivery`` forward to ``state``; False (and nothing changed) otherwise."""
    current = STATE_RANK.get(DeliveryState(delivery.state))
    if current is None or STATE_RANK[state] <= current:
        return False
    delivery.state = state
    delivery.updated_at = now
    if STATE_RANK[state] >= STATE_RANK[DeliveryState.SENT] and delivery.sent_at is None:
        delivery.sent_at = now
    if state == DeliveryState.DELIVERED:
        delivery.delivered_at = now
    return True


def apply_status_report(
    session: Session, report: StatusReport, *, now: datetime, actor: str = "twilio"
) -> Outcome:
    """Apply one callback in the caller's transaction. Safe to repeat."""
    state = TWILIO_STATUSES.get(report.status.strip().lower())
    # "queued" and "sending" are Twilio's view of what we call sending: nothing to learn.
    news = state is not None and state != DeliveryState.SENDING
    delivery = _find(session, report, adopt=news)
    if delivery is None:
        log.info(
            "status callback for an unknown message: ignored",
            extra={"provider_id": report.sid, "status": report.status},
        )
        return Outcome.UNKNOWN
    if state is None or not news:
        log.info(
            "status callback with nothing to learn",
            extra={"delivery_id": delivery.id, "status": report.status},
        )
        return Outcome.UNCHANGED
    before = delivery.state
    changed = advance(delivery, state, now=now)
    code = (report.error_code or "").strip() or None
    # An error code belongs to the state it came with: a late "sent" cannot clear it and a
    # late callback cannot pin its code on a newer state.
    if code and delivery.state == state and delivery.error_code != code:
        delivery.error_code = code
        delivery.error = _describe(code)
        delivery.updated_at = now
        changed = True
    flag = flag_for_error_code(code)
    if flag is not None:
        apply_contact_flag(
            session,
            channel=delivery.channel,
            address=delivery.address,
            flag=flag,
            actor=actor,
            reason=f"Twilio {code}",
        )
    if changed:
        session.add(delivery)
        log.info(
            "delivery status updated",
            extra={
                "delivery_id": delivery.id,
                "from_state": before,
                "state": delivery.state,
                "provider_id": report.sid,
                "error_code": delivery.error_code,
            },
        )
        return Outcome.UPDATED
    return Outcome.UNCHANGED


def apply_contact_flag(
    session: Session,
    *,
    channel: str,
    address: str,
    flag: str,
    actor: str,
    reason: str | None = None,
) -> bool:
    """Learn from a provider's error (``ChannelError.flag``); False when nothing was new.

    ``opted_out`` records an opt-out (source "provider"); ``invalid_contact`` sets the
    channel's invalid flag (``phone_invalid``, ``voice_invalid``, ...) on every customer with
    that address: a number that cannot take SMS may still be called.
    """
    if flag == "opted_out":
        return optouts.opt_out(
            session, channel=channel, address=address, source="provider", actor=actor, reason=reason
        )
    if flag != "invalid_contact":
        return False
    spec = registry.spec(channel)
    attribute = spec.invalid_flag
    column = getattr(Customer, spec.contact)
    customers = session.exec(select(Customer).where(column == address)).all()
    learned = False
    for customer in customers:
        if getattr(customer, attribute):
            continue
        setattr(customer, attribute, True)
        session.add(customer)
        audit.record(
            session,
            actor=actor,
            action=f"customer.{attribute}",
            entity="customer",
            entity_id=customer.id,
            before={attribute: False},
            after={attribute: True, "reason": reason},
        )
        details = {"customer_id": customer.id, "flag": attribute, "reason": reason}
        log.info("contact flagged", extra=details)
        learned = True
    return learned


def _find(session: Session, report: StatusReport, *, adopt: bool) -> Delivery | None:
    return find_delivery(session, report.sid, report.delivery_id, channel=TWILIO, adopt=adopt)


def find_delivery(
    session: Session, sid: str, delivery_id: int | None, *, channel: str, adopt: bool
) -> Delivery | None:
    """The delivery a callback is about: by the provider's id, else (``adopt``) by the
    delivery id the callback URL carries, when that row has no provider id yet."""
    delivery = session.exec(
        select(Delivery).where(Delivery.provider_id == sid, Delivery.channel == channel)
    ).first()
    if delivery is not None or delivery_id is None or not adopt:
        return delivery
    candidate = session.get(Delivery, delivery_id)
    if candidate is None or candidate.channel != channel:
        return None
    if candidate.provider_id is not None:
        # The row already belongs to another message: this callback is about an earlier
        # attempt (sent, then retried after a lost answer). Do not let it move the row.
        log.info(
            "status callback for an earlier attempt: ignored",
            extra={"delivery_id": candidate.id, "provider_id": sid},
        )
        return None
    candidate.provider_id = sid
    return candidate


def _describe(code: str) -> str:
    try:
        known = ERROR_DESCRIPTIONS.get(int(code))
    except ValueError:
        known = None
    return f"Twilio {code}: {known}" if known else f"Twilio error {code}"
