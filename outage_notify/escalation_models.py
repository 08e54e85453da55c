"""The critical-needs ladder's tables: one escalation per (outage, critical customer) and
each of its steps (see delivery/escalation.py for the ladder itself)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from outage_notify.db import UTCDateTime, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class EscalationStep(StrEnum):
    NOTIFIED = "notified"  # the ladder starts: the first notice went (or was tried)
    CALL = "call"  # no acknowledgement in time: a voice call is queued
    CALL_RESULT = "call_result"  # how the call ended (answered by whom, busy, no answer)
    DOOR_KNOCK = "door_knock"  # still none: on the door-knock list
    DISPATCH_EMAIL = "dispatch_email"  # the door-knock list was emailed to dispatch
    ACKNOWLEDGED = "acknowledged"  # reply 1 to the SMS, press 1 on the call
    CLOSED = "closed"  # the outage was cancelled, or the work started


class Escalation(SQLModel, table=True):
    """A critical-needs customer's ladder for one outage: notice, call, door-knock.

    The planned times are counted back from the work start (``start_at``), so the last step
    still has time; ``stage`` is where the ladder stands, ``escalation_event`` each step.
    """

    __tablename__ = "escalation"
    __table_args__ = (
        UniqueConstraint("outage_id", "customer_id", name="uq_escalation_outage_customer"),
        Index("ix_escalation_stage", "stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    notice_id: int = Field(foreign_key="notice.id")  # the notice that started it
    # waiting (for an acknowledgement) | calling | door_knock | acknowledged | closed
    stage: str = Field(default="waiting", max_length=16)
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # the work start
    notified_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    call_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    door_knock_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    call_delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_via: str | None = Field(default=None, max_length=8)  # sms | voice
    listed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # door-knock list
    created_at: datetime = _created()
    updated_at: datetime = _created()


class EscalationEvent(SQLModel, table=True):
    """One step of an escalation, kept so the report shows who was reached how and when."""

    __tablename__ = "escalation_event"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    step: str = Field(max_length=16)  # an EscalationStep value
    channel: str | None = Field(default=None, max_length=8)
    detail: str = Field(default="", max_length=200)
