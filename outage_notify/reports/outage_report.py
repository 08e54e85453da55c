"""The per-outage report: what became of every delivery of an outage's notices, and who was
not reached before the work started (``outage-notify report --outage ID``).

Counts come from the outbox as it stands: one Delivery per (notice, contact, channel), so a
message to a phone shared by two accounts counts once. Coverage and the door-hanger list are
in :mod:`outage_notify.reports.coverage`. Everything is read in one read transaction, so the figures
agree with each other even while the daemon sends.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.errors import NotFoundError
from outage_notify.models import Delivery, DeliveryState, Notice, Outage
from outage_notify.reports.coverage import Coverage, coverage
from outage_notify.residents import nowater

STATES = tuple(state.value for state in DeliveryState)
FAILURE_STATES = (DeliveryState.FAILED, DeliveryState.UNDELIVERED)
# The dispatcher prefixes the provider's reason when it gives up; the count varies per row.
_GAVE_UP = re.compile(r"^gave up at the deadline after \d+ attempts: ")


def _zeros() -> dict[str, dict[str, int]]:
    return {channel: dict.fromkeys(STATES, 0) for channel in registry.names()}


@dataclass
class NoticeLine:
    id: int
    kind: str
    audience: str
    revision: int
    due_at: datetime
    sms_due_at: datetime
    state: str  # a NoticeState value
    late: bool
    expanded_at: datetime | None
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> state -> n


@dataclass(frozen=True)
class FailureGroup:
    channel: str
    state: str  # failed | undelivered
    code: str | None  # the provider's error code, when it gave one
    reason: str  # the most frequent message of the group
    count: int


@dataclass(frozen=True)
class DuplicateLine:
    delivery_id: int
    notice_id: int
    kind: str
    channel: str
    recipient: str  # customer:ID or subscriber:ID, never the address
    state: str


@dataclass
class OutageReport:
    outage: Outage
    generated_at: datetime
    deliveries: dict[str, dict[str, int]] = field(default_factory=_zeros)
    late_deliveries: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> reason -> n
    failures: list[FailureGroup] = field(default_factory=list)
    duplicates: list[DuplicateLine] = field(default_factory=list)
    notices: list[NoticeLine] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    # Still no water after "restored": reports per area and the alerts raised.
    no_water: dict[str, Any] = field(default_factory=dict)

    @property
    def expired_deliveries(self) -> dict[str, int]:
        return {c: self.deliveries[c][DeliveryState.EXPIRED] for c in registry.names()}

    @property
    def late_notices(self) -> list[NoticeLine]:
        return [n for n in self.notices if n.late]

    @property
    def expired_notices(self) -> list[NoticeLine]:
        return [n for n in self.notices if n.state == "expired"]

    @property
    def duplicate_counts(self) -> dict[str, int]:
        counts = Counter(d.channel for d in self.duplicates)
        return {c: counts[c] for c in registry.names()}

    def as_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        """The report as JSON-ready data; times in ``zone`` with their offset."""

        def local(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(zone).isoformat()

        o = self.outage
        cov = self.coverage
        return {
            "outage": {
                "id": o.id,
                "ref": o.ref,
                "utility": o.utility,
                "title": o.title,
                "status": o.status,
                "revision": o.revision,
                "start_at": local(o.start_at),
                "end_at": local(o.end_at),
                "restored_at": local(o.restored_at),
                "area_codes": list(o.area_codes),
            },
            "generated_at": local(self.generated_at),
            "deliveries": self.deliveries,
            "late": {
                "deliveries": self.late_deliveries,
                "notices": [n.id for n in self.late_notices],
            },
            "expired": {
                "deliveries": self.expired_deliveries,
                "notices": [n.id for n in self.expired_notices],
            },
            "skipped": self.skipped,
            "failures": [f.__dict__ for f in self.failures],
            "duplicates": {
                "count": self.duplicate_counts,
                "deliveries": [d.__dict__ for d in self.duplicates],
            },
            "opt_outs": {
                "premises": cov.opted_out,
                "every_channel": cov.opted_out_every_channel,
                "by_source": cov.opt_out_sources,
            },
            "coverage": {
                "affected_premises": cov.affected_premises,
                "reached": cov.reached,
                "not_reached": len(cov.door_hangers),
                "share": None if cov.share is None else round(cov.share, 4),
                "reached_by_channel": cov.reached_by_channel,
                "channel_without_contact": cov.channel_without_contact,
                "channel_fallback": cov.channel_fallback,
            },
            "door_hangers": {
                "count": len(cov.door_hangers),
                "by_reason": cov.reasons(),
                "premises": [h.as_dict() for h in cov.door_hangers],
            },
            "notices": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "audience": n.audience,
                    "revision": n.revision,
                    "due_at": local(n.due_at),
                    "sms_due_at": local(n.sms_due_at),
                    "state": n.state,
                    "late": n.late,
                    "expanded_at": local(n.expanded_at),
                    "deliveries": n.deliveries,
                }
                for n in self.notices
            ],
            "no_water": {
                **self.no_water,
                "alerts": [
                    {**a, "raised_at": local(a["raised_at"])}
                    for a in self.no_water.get("alerts", [])
                ],
            },
        }


def outage_report(session: Session, outage_id: int, *, now: datetime) -> OutageReport:
    """Everything about one outage's notices. Raises NotFoundError for an unknown id.

    ``now`` decides whether a notice not yet sent may still go (before the work start).
    """
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise NotFoundError(f"outage {outage_id} does not exist")
    report = OutageReport(outage=outage, generated_at=now)
    report.notices = _notices(session, outage_id)
    by_id = {n.id: n for n in report.notices}
    late: Counter[str] = Counter()
    for notice_id, channel, state, count, late_count in _delivery_counts(session, outage_id):
        report.deliveries.setdefault(channel, dict.fromkeys(STATES, 0))[state] += count
        notice_counts = by_id[notice_id].deliveries.setdefault(channel, {})
        notice_counts[state] = notice_counts.get(state, 0) + count
        late[channel] += int(late_count or 0)
    report.late_deliveries = {c: late[c] for c in report.deliveries}
    report.skipped = _skipped(session, outage_id)
    report.failures = _failures(session, outage_id)
    report.duplicates = _duplicates(session, outage_id)
    report.coverage = coverage(session, outage, now=now)
    report.no_water = nowater.summary(session, outage_id)
    return report


def _of_outage(outage_id: int) -> Any:
    return col(Notice.outage_id) == outage_id


def _notices(session: Session, outage_id: int) -> list[NoticeLine]:
    rows = session.exec(
        select(Notice).where(_of_outage(outage_id)).order_by(col(Notice.due_at), col(Notice.id))  # type: ignore[call-overload]
    ).scalars()
    return [
        NoticeLine(
            id=n.id,
            kind=n.kind,
            audience=n.audience,
            revision=n.revision,
            due_at=n.due_at,
            sms_due_at=n.sms_due_at,
            state=n.state,
            late=n.late,
            expanded_at=n.expanded_at,
        )
        for n in rows
    ]


def _delivery_counts(session: Session, outage_id: int) -> list[Any]:
    late = func.sum(case((col(Delivery.late).is_(True), 1), else_=0))
    return list(
        session.execute(
            select(
                col(Delivery.notice_id),
                col(Delivery.channel),
                col(Delivery.state),
                func.count(),
                late,
            )
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(_of_outage(outage_id))
            .group_by(col(Delivery.notice_id), col(Delivery.channel), col(Delivery.state))
        )
    )


def _skipped(session: Session, outage_id: int) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(col(Delivery.channel), col(Delivery.error), func.count())
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(_of_outage(outage_id), col(Delivery.state) == DeliveryState.SKIPPED)
        .group_by(col(Delivery.channel), col(Delivery.error))
    )
    skipped: dict[str, dict[str, int]] = {c: {} for c in registry.names()}
    for channel, error, count in rows:
        reasons = skipped.setdefault(channel, {})
        reasons[error or "unknown"] = reasons.get(error or "unknown", 0) + count
    return {c: dict(sorted(r.items())) for c, r in skipped.items()}


def _failures(session: Session, outage_id: int) -> list[FailureGroup]:
    """Failed and undelivered deliveries by channel, state and error code (else message)."""
    rows = session.execute(
        select(
            col(Delivery.channel),
            col(Delivery.state),
            col(Delivery.error_code),
            col(Delivery.error),
            func.count(),
        )
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(_of_outage(outage_id), col(Delivery.state).in_(FAILURE_STATES))
        .group_by(
            col(Delivery.channel),
            col(Delivery.state),
            col(Delivery.error_code),
            col(Delivery.error),
        )
    )
    groups: dict[tuple[str, str, str | None, str], Counter[str]] = {}
    for channel, state, code, error, count in rows:
        message = _GAVE_UP.sub("", error or "") or "no reason given"
        # Provider messages often name the recipient: group by the code when there is one.
        key = (channel, state, code, "" if code else message)
        groups.setdefault(key, Counter())[message] += count
    failures = [
        FailureGroup(channel, state, code, messages.most_common(1)[0][0], messages.total())
        for (channel, state, code, _message), messages in groups.items()
    ]
    return sorted(failures, key=lambda f: (-f.count, f.channel, f.state, f.code or "", f.reason))


def _duplicates(session: Session, outage_id: int) -> list[DuplicateLine]:
    rows = session.execute(
        select(
            col(Delivery.id),
            col(Delivery.notice_id),
            col(Notice.kind),
            col(Delivery.channel),
            col(Delivery.customer_id),
            col(Delivery.subscriber_id),
            col(Delivery.state),
        )
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(_of_outage(outage_id), col(Delivery.duplicate).is_(True))
        .order_by(col(Delivery.id))
    )
    return [
        DuplicateLine(
            delivery_id=delivery_id,
            notice_id=notice_id,
            kind=kind,
            channel=channel,
            recipient=f"customer:{customer_id}"
            if customer_id is not None
            else f"subscriber:{subscriber_id}",
            state=state,
        )
        for delivery_id, notice_id, kind, channel, customer_id, subscriber_id, state in rows
    ]
