"""The critical-needs ladder: notice, then a call, then the door-knock list.

A critical customer's first notice of upcoming work asks them to acknowledge (reply 1 to the
SMS, press 1 on the call). Not acknowledged ``critical.ack_wait`` after it went: they are
called. Still not ``critical.call_wait`` after the call: they go on the door-knock list, with
the time left before the work starts, and the list is emailed to ``critical.dispatch_email``.

Every time is planned backwards from the work start: the list is made
``critical.door_knock_time`` before it at the latest, the call ``call_wait`` before that,
so a late notice (short-notice work) compresses the ladder instead of running past the start.
The daemon climbs it at each tick (:meth:`Ladder.run` with the tick's clock); every step is
an ``escalation_event`` row. The call is an ordinary voice Delivery, so the dispatcher's rate
limits, retries and quiet hours apply (a call waits for the morning when the list can wait).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from outage_notify.db import Database
from outage_notify.models import (
    UPCOMING_KINDS,
    Customer,
    Delivery,
    DeliveryState,
    Escalation,
    EscalationEvent,
    EscalationStep,
    Notice,
    OptOut,
    Outage,
    OutageStatus,
)
from outage_notify.settings import CriticalSettings

log = logging.getLogger(__name__)

# Deliveries that say the notice was tried (sent, or known not to reach them).
TRIED_STATES = (
    DeliveryState.SENT,
    DeliveryState.DELIVERED,
    DeliveryState.UNDELIVERED,
    DeliveryState.FAILED,
    DeliveryState.SKIPPED,
    DeliveryState.EXPIRED,
)
CLIMBING = ("waiting", "calling")


def plan(
    notified_at: datetime, start_at: datetime, rules: CriticalSettings
) -> tuple[datetime, datetime]:
    """(call at, door-knock list at), counted back from the work start.

    The list is due ``door_knock_time`` before the start at the latest and the call
    ``call_wait`` before the list; neither is ever before the notice went.
    """
    list_by = start_at - rules.door_knock_time
    call_at = max(notified_at, min(notified_at + rules.ack_wait, list_by - rules.call_wait))
    door_knock_at = max(call_at, min(call_at + rules.call_wait, list_by))
    return call_at, door_knock_at


@dataclass
class LadderSummary:
    opened: int = 0
    called: int = 0
    listed: int = 0
    closed: int = 0
    emailed: int = 0
    listed_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.opened or self.called or self.listed or self.closed)

    def as_dict(self) -> dict[str, int]:
        return {
            "opened": self.opened,
            "called": self.called,
            "door_knocks": self.listed,
            "closed": self.closed,
            "emailed": self.emailed,
        }


def _event(
    session: Session, escalation: Escalation, step: str, now: datetime, **values: Any
) -> None:
    assert escalation.id is not None
    detail = str(values.pop("detail", ""))[:200]
    session.add(
        EscalationEvent(escalation_id=escalation.id, at=now, step=step, detail=detail, **values)
    )


def time_left(start_at: datetime, now: datetime) -> str:
    """``5h 20m`` until the work starts; ``started`` once it has."""
    minutes = int((start_at - now).total_seconds() // 60)
    if minutes <= 0:
        return "started"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


class Ladder:
    """Climbs every open escalation one step when its time has come.

    ``call_channel`` is the channel name calls go by, ``call_enabled`` whether it can send;
    ``send_dispatch`` emails the door-knock list (None: it is not emailed).
    """

    def __init__(
        self,
        database: Database,
        rules: CriticalSettings,
        *,
        call_channel: str,
        call_enabled: bool,
        send_dispatch: Callable[[list[Escalation], datetime], bool] | None = None,
    ) -> None:
        self.database = database
        self.rules = rules
        self.call_channel = call_channel
        self.call_enabled = call_enabled
        self.send_dispatch = send_dispatch

    def run(self, now: datetime) -> LadderSummary:
        summary = LadderSummary()
        with self.database.session() as session:
            summary.opened = self._open(session, now)
            summary.closed = self._close(session, now)
            summary.called = self._call(session, now)
            listed = self._list(session, now)
            summary.listed = len(listed)
            summary.listed_ids = [e.id for e in listed if e.id is not None]
        if listed and self.send_dispatch is not None:
            # Outside the transaction: no database lock is held across a network call.
            with self.database.read() as session:
                rows = session.exec(
                    select(Escalation).where(col(Escalation.id).in_(summary.listed_ids))
                ).all()
            if self.send_dispatch(list(rows), now):
                summary.emailed = len(rows)
                with self.database.session() as session:
                    for row in session.exec(
                        select(Escalation).where(col(Escalation.id).in_(summary.listed_ids))
                    ).all():
                        _event(session, row, EscalationStep.DISPATCH_EMAIL, now, channel="email")
        if summary:
            log.info(
                "critical ladder",
                extra={
                    "opened": summary.opened,
                    "called": summary.called,
                    "listed": summary.listed,
                    "closed": summary.closed,
                },
            )
        return summary

    # -- the steps ------------------------------------------------------------------------

    def _open(self, session: Session, now: datetime) -> int:
        """A ladder for every critical customer a notice of upcoming work was tried on."""
        tried_at = func.min(func.coalesce(Delivery.sent_at, Delivery.updated_at))
        rows = session.execute(
            select(col(Notice.outage_id), col(Delivery.customer_id), func.min(Notice.id), tried_at)
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .join(Outage, col(Outage.id) == col(Notice.outage_id))
            .join(Customer, col(Customer.id) == col(Delivery.customer_id))
            .outerjoin(
                Escalation,
                (col(Escalation.outage_id) == col(Notice.outage_id))
                & (col(Escalation.customer_id) == col(Delivery.customer_id)),
            )
            .where(
                col(Customer.critical).is_(True),
                col(Outage.status) == OutageStatus.PLANNED,
                col(Outage.start_at) > now,
                col(Notice.kind).in_(list(UPCOMING_KINDS)),
                col(Delivery.state).in_(TRIED_STATES),
                col(Escalation.id).is_(None),
            )
            .group_by(col(Notice.outage_id), col(Delivery.customer_id))
        ).all()
        starts = dict(
            session.execute(
                select(Outage.id, Outage.start_at).where(col(Outage.id).in_({r[0] for r in rows}))
            ).all()
        )
        for outage_id, customer_id, notice_id, notified_at in rows:
            notified_at = min(notified_at, now)
            call_at, door_knock_at = plan(notified_at, starts[outage_id], self.rules)
            escalation = Escalation(
                outage_id=outage_id,
                customer_id=customer_id,
                notice_id=notice_id,
                start_at=starts[outage_id],
                notified_at=notified_at,
                call_at=call_at,
                door_knock_at=door_knock_at,
                created_at=now,
                updated_at=now,
            )
            session.add(escalation)
            session.flush()
            _event(session, escalation, EscalationStep.NOTIFIED, notified_at)
        return len(rows)

    def _close(self, session: Session, now: datetime) -> int:
        """Cancelled outages end their ladders; a rescheduled one re-plans the steps ahead."""
        rows = session.exec(
            select(Escalation, Outage)
            .join(Outage, col(Outage.id) == col(Escalation.outage_id))
            .where(col(Escalation.stage).in_([*CLIMBING, "door_knock"]))
        ).all()
        closed = 0
        for escalation, outage in rows:
            if outage.status == OutageStatus.CANCELLED or (
                escalation.stage in CLIMBING and outage.start_at <= now
            ):
                escalation.stage = "closed"
                escalation.updated_at = now
                session.add(escalation)
                why = (
                    "outage cancelled"
                    if outage.status == OutageStatus.CANCELLED
                    else "work started"
                )
                _event(session, escalation, EscalationStep.CLOSED, now, detail=why)
                closed += 1
            elif outage.start_at != escalation.start_at and escalation.stage in CLIMBING:
                escalation.start_at = outage.start_at
                call_at, escalation.door_knock_at = plan(
                    escalation.notified_at, outage.start_at, self.rules
                )
                if escalation.stage == "waiting":
                    escalation.call_at = call_at
                escalation.updated_at = now
                session.add(escalation)
        return closed

    def _call(self, session: Session, now: datetime) -> int:
        due = session.exec(
            select(Escalation).where(Escalation.stage == "waiting", col(Escalation.call_at) <= now)
        ).all()
        for escalation in due:
            customer = session.get(Customer, escalation.customer_id)
            assert customer is not None
            reason = self._cannot_call(session, customer)
            escalation.updated_at = now
            if reason:
                # No call can reach them: the crews get every minute there is.
                escalation.call_at = now
                escalation.door_knock_at = now
                escalation.stage = "calling"
                _event(
                    session, escalation, EscalationStep.CALL, now, detail=f"not called: {reason}"
                )
                session.add(escalation)
                continue
            assert customer.phone is not None
            existing, escalation.call_delivery_id = self._queue_call(
                session, escalation, customer, now
            )
            escalation.stage = "calling"
            session.add(escalation)
            detail = "the notice itself was a call" if existing else ""
            _event(
                session,
                escalation,
                EscalationStep.CALL,
                now,
                channel=self.call_channel,
                detail=detail,
            )
        return len(due)

    def _cannot_call(self, session: Session, customer: Customer) -> str:
        if not self.call_enabled:
            return "voice calls are disabled"
        if not customer.phone:
            return "no phone number"
        if customer.voice_invalid:
            return "the number cannot be called"
        opted_out = session.exec(
            select(OptOut.id).where(
                OptOut.channel == self.call_channel, OptOut.address == customer.phone
            )
        ).first()
        return "stopped voice calls" if opted_out is not None else ""

    def _queue_call(
        self, session: Session, escalation: Escalation, customer: Customer, now: datetime
    ) -> tuple[bool, int | None]:
        """(already there, id): a pending call of the notice, due now, worth nothing after
        the list is made (its deadline)."""
        existing = session.exec(
            select(Delivery).where(
                Delivery.notice_id == escalation.notice_id,
                Delivery.channel == self.call_channel,
                Delivery.address == customer.phone,
            )
        ).first()
        if existing is not None:
            # The notice itself was a call (a voice customer, a landline): that was the call.
            return True, existing.id
        delivery = Delivery(
            notice_id=escalation.notice_id,
            channel=self.call_channel,
            address=customer.phone or "",
            customer_id=customer.id,
            language=customer.language,
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            deadline=escalation.door_knock_at,
            created_at=now,
            updated_at=now,
        )
        session.add(delivery)
        session.flush()
        return False, delivery.id

    def _list(self, session: Session, now: datetime) -> list[Escalation]:
        due = session.exec(
            select(Escalation).where(
                col(Escalation.stage).in_(CLIMBING), col(Escalation.door_knock_at) <= now
            )
        ).all()
        for escalation in due:
            escalation.stage = "door_knock"
            escalation.listed_at = now
            escalation.updated_at = now
            session.add(escalation)
            left = time_left(escalation.start_at, now)
            _event(
                session,
                escalation,
                EscalationStep.DOOR_KNOCK,
                now,
                detail=f"{left} before the work starts",
            )
        return list(due)


def next_step(database: Database) -> datetime | None:
    """When an open ladder next climbs (a call, the door-knock list): for a simulated clock,
    which has no daemon tick to find it."""
    with database.read() as session:
        call = session.exec(
            select(func.min(Escalation.call_at)).where(Escalation.stage == "waiting")
        ).one()
        listing = session.exec(
            select(func.min(Escalation.door_knock_at)).where(col(Escalation.stage).in_(CLIMBING))
        ).one()
    found = [t for t in (call, listing) if t is not None]
    return min(found) if found else None
