"""What Twilio reports about a call (``CallStatus``, ``AnsweredBy``), applied to its delivery.

A call is *delivered* when it was answered and the message played: by a person, or by an
answering machine after its beep (machine detection ran as ``DetectMessageEnd``). Busy, no
answer and a fax machine are *undelivered*; a call Twilio could not place *failed*. As with
SMS, reports only move a delivery forward, so late and repeated callbacks change nothing.
A call of the critical-needs ladder also records how it ended as a step of the ladder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from outage_notify.delivery.status_callbacks import Outcome, advance, find_delivery
from outage_notify.models import DeliveryState, Escalation, EscalationEvent, EscalationStep

log = logging.getLogger(__name__)

CALL_STATUSES = {
    "queued": DeliveryState.SENDING,
    "initiated": DeliveryState.SENDING,
    "ringing": DeliveryState.SENDING,
    "in-progress": DeliveryState.SENT,
    "completed": DeliveryState.DELIVERED,
    "busy": DeliveryState.UNDELIVERED,
    "no-answer": DeliveryState.UNDELIVERED,
    "canceled": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
}
# Answered, but not by anyone who can hear it.
UNHEARD = frozenset({"fax"})


@dataclass(frozen=True)
class CallReport:
    """One call status callback: ``CallSid``, ``CallStatus`` and ``AnsweredBy``."""

    sid: str
    status: str
    answered_by: str = ""
    delivery_id: int | None = None  # carried in the callback URL


def call_state(status: str, answered_by: str = "") -> DeliveryState | None:
    state = CALL_STATUSES.get(status.strip().lower())
    if state == DeliveryState.DELIVERED and answered_by.strip().lower() in UNHEARD:
        return DeliveryState.UNDELIVERED
    return state


def apply_call_report(
    session: Session, report: CallReport, *, channel: str, now: datetime
) -> Outcome:
    """Apply one call status callback in the caller's transaction. Safe to repeat."""
    state = call_state(report.status, report.answered_by)
    news = state is not None and state != DeliveryState.SENDING
    delivery = find_delivery(session, report.sid, report.delivery_id, channel=channel, adopt=news)
    if delivery is None:
        log.info("call status for an unknown call: ignored", extra={"provider_id": report.sid})
        return Outcome.UNKNOWN
    if state is None or not news or not advance(delivery, state, now=now):
        return Outcome.UNCHANGED
    how = report.status + (f", answered by {report.answered_by}" if report.answered_by else "")
    if state != DeliveryState.DELIVERED:
        delivery.error = f"call {how}"[:500]
        delivery.error_code = report.status[:32]
    session.add(delivery)
    log.info(
        "call status updated",
        extra={
            "delivery_id": delivery.id,
            "state": delivery.state,
            "answered_by": report.answered_by,
        },
    )
    if state != DeliveryState.SENT:
        escalation = session.exec(
            select(Escalation).where(Escalation.call_delivery_id == delivery.id)
        ).first()
        if escalation is not None and escalation.id is not None:
            session.add(
                EscalationEvent(
                    escalation_id=escalation.id,
                    at=now,
                    step=EscalationStep.CALL_RESULT,
                    channel=channel,
                    detail=how[:200],
                )
            )
    return Outcome.UPDATED
