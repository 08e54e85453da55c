"""The critical-needs ladder of one outage: who was reached how and when, and the door-knock
list (critical customers no notice or call got an acknowledgement from, with the time left
before the work starts). Exported like the door-hanger list: CSV, formula cells neutralised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from outage_notify.delivery.escalation import time_left
from outage_notify.models import Customer, Delivery, Escalation, EscalationEvent
from outage_notify.reports.spreadsheet import write_csv

DOOR_KNOCK_COLUMNS = (
    "account_id",
    "name",
    "address",
    "phone",
    "language",
    "work_start",
    "listed_at",
    "time_left",
    "history",
)


@dataclass(frozen=True)
class Step:
    at: datetime
    step: str
    channel: str | None
    detail: str


@dataclass
class Ladder:
    """One critical customer's escalation for the outage."""

    customer_id: int
    account_id: str
    name: str
    address: str
    phone: str | None
    language: str
    stage: str  # waiting | calling | door_knock | acknowledged | closed
    start_at: datetime
    notified_at: datetime
    call_at: datetime
    door_knock_at: datetime
    acknowledged_at: datetime | None
    acknowledged_via: str | None
    listed_at: datetime | None
    call_state: str | None  # the call delivery's state, when there was one
    steps: list[Step] = field(default_factory=list)

    def history(self, zone: ZoneInfo) -> str:
        """``09:00 notified; 13:00 call (voice); 13:01 call_result: no-answer; ...``"""
        return "; ".join(
            f"{s.at.astimezone(zone):%m-%d %H:%M} {s.step}"
            + (f" ({s.channel})" if s.channel else "")
            + (f": {s.detail}" if s.detail else "")
            for s in self.steps
        )


@dataclass
class EscalationReport:
    ladders: list[Ladder] = field(default_factory=list)
    now: datetime | None = None

    @property
    def door_knocks(self) -> list[Ladder]:
        return [ladder for ladder in self.ladders if ladder.stage == "door_knock"]

    def stages(self) -> dict[str, int]:
        return dict(sorted(Counter(ladder.stage for ladder in self.ladders).items()))

    def door_knock_rows(self, zone: ZoneInfo) -> list[tuple[object, ...]]:
        assert self.now is not None
        return [
            (
                k.account_id,
                k.name,
                k.address,
                k.phone or "",
                k.language,
                k.start_at.astimezone(zone).isoformat(),
                k.listed_at.astimezone(zone).isoformat() if k.listed_at else "",
                time_left(k.start_at, self.now),
                k.history(zone),
            )
            for k in self.door_knocks
        ]

    def as_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        def local(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(zone).isoformat()

        assert self.now is not None
        return {
            "stages": self.stages(),
            "door_knocks": [
                dict(zip(DOOR_KNOCK_COLUMNS, row, strict=True))
                for row in self.door_knock_rows(zone)
            ],
            "ladders": [
                {
                    "account_id": k.account_id,
                    "stage": k.stage,
                    "notified_at": local(k.notified_at),
                    "call_at": local(k.call_at),
                    "door_knock_at": local(k.door_knock_at),
                    "acknowledged_at": local(k.acknowledged_at),
                    "acknowledged_via": k.acknowledged_via,
                    "call_state": k.call_state,
                    "steps": [
                        {
                            "at": local(s.at),
                            "step": s.step,
                            "channel": s.channel,
                            "detail": s.detail,
                        }
                        for s in k.steps
                    ],
                }
                for k in self.ladders
            ],
        }


def escalation_report(session: Session, outage_id: int, *, now: datetime) -> EscalationReport:
    rows = session.exec(
        select(Escalation, Customer)
        .join(Customer, col(Customer.id) == col(Escalation.customer_id))
        .where(Escalation.outage_id == outage_id)
        .order_by(col(Escalation.door_knock_at), col(Customer.account_id))
    ).all()
    report = EscalationReport(now=now)
    if not rows:
        return report
    ids = [e.id for e, _c in rows]
    steps: dict[int, list[Step]] = {}
    for event in session.exec(
        select(EscalationEvent)
        .where(col(EscalationEvent.escalation_id).in_(ids))
        .order_by(col(EscalationEvent.at), col(EscalationEvent.id))
    ).all():
        steps.setdefault(event.escalation_id, []).append(
            Step(event.at, event.step, event.channel, event.detail)
        )
    call_ids = [e.call_delivery_id for e, _c in rows if e.call_delivery_id is not None]
    call_states = dict(
        session.execute(
            select(col(Delivery.id), col(Delivery.state)).where(col(Delivery.id).in_(call_ids))
        ).all()
    )
    for escalation, customer in rows:
        assert escalation.id is not None
        report.ladders.append(
            Ladder(
                customer_id=escalation.customer_id,
                account_id=customer.account_id,
                name=customer.name,
                address=customer.address,
                phone=customer.phone,
                language=customer.language,
                stage=escalation.stage,
                start_at=escalation.start_at,
                notified_at=escalation.notified_at,
                call_at=escalation.call_at,
                door_knock_at=escalation.door_knock_at,
                acknowledged_at=escalation.acknowledged_at,
                acknowledged_via=escalation.acknowledged_via,
                listed_at=escalation.listed_at,
                call_state=call_states.get(escalation.call_delivery_id),
                steps=steps.get(escalation.id, []),
            )
        )
    return report


def write_door_knocks(stream: IO[str], report: EscalationReport, zone: ZoneInfo) -> int:
    """The door-knock list as CSV, every text cell neutralised; returns the row count."""
    return write_csv(stream, DOOR_KNOCK_COLUMNS, report.door_knock_rows(zone))
