"""The outbox: a notice that falls due is expanded into one Delivery per (notice, recipient,
channel). Recipients are matched at that moment, not at planning: people move, opt out and
subscribe in between. The UNIQUE constraint makes expansion safe to repeat, and a conditional
UPDATE on the notice lets one process expand it while any other skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.told import LastTold
from outage_notify.models import (
    UPCOMING_KINDS,
    Delivery,
    DeliveryState,
    Notice,
    NoticeState,
    Outage,
)
from outage_notify.planning.targeting import Recipient, Skipped, recipients

log = logging.getLogger(__name__)

# A notice expanded later than this after its due time was late (the daemon was down).
LATE_AFTER = timedelta(minutes=5)
_INSERT_CHUNK = 2_000


@dataclass
class ExpansionSummary:
    notices: int = 0
    deliveries: int = 0
    skipped: int = 0
    expired_notices: int = 0
    late_notices: int = 0
    superseded_notices: int = 0

    def add(self, other: ExpansionSummary) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def due_notice_ids(database: Database, now: datetime) -> list[int]:
    with database.read() as session:
        rows = session.exec(
            select(Notice.id)
            .where(
                col(Notice.state) == NoticeState.PENDING,
                or_(col(Notice.due_at) <= now, col(Notice.sms_due_at) <= now),
            )
            .order_by(col(Notice.due_at), col(Notice.id))
        ).all()
    return [r for r in rows if r is not None]


def expand_due(
    database: Database, now: datetime, *, enabled_channels: Iterable[str] | None = None
) -> ExpansionSummary:
    """Expand every notice due at ``now``, one transaction per notice.

    ``enabled_channels`` defaults to every registered channel; the others' deliveries are
    recorded skipped.
    """
    summary = ExpansionSummary()
    enabled = frozenset(registry.CHANNELS if enabled_channels is None else enabled_channels)
    for notice_id in due_notice_ids(database, now):
        summary.add(expand_notice(database, notice_id, now, enabled_channels=enabled))
    return summary


def expand_notice(
    database: Database,
    notice_id: int,
    now: datetime,
    *,
    enabled_channels: frozenset[str] | None = None,
) -> ExpansionSummary:
    summary = ExpansionSummary()
    if enabled_channels is None:
        enabled_channels = frozenset(registry.CHANNELS)
    with database.session() as session:
        # Claim the notice: only one process gets rowcount 1 and expands it.
        claimed = session.execute(
            update(Notice)
            .where(col(Notice.id) == notice_id, col(Notice.state) == NoticeState.PENDING)
            .values(state=NoticeState.EXPANDED, expanded_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return summary
        notice = session.get(Notice, notice_id)
        assert notice is not None
        outage = session.get(Outage, notice.outage_id)
        assert outage is not None
        if notice.kind in UPCOMING_KINDS and notice.revision != outage.revision:
            # Planned for a revision that has since changed: the planner's change
            # superseded it (this catches a change that raced the expansion).
            notice.state = NoticeState.SUPERSEDED
            summary.superseded_notices = 1
            return summary
        if now >= notice.deadline:
            notice.state = NoticeState.EXPIRED
            summary.expired_notices = 1
            log.warning(
                "notice expired unsent",
                extra={"notice_id": notice_id, "kind": notice.kind, "deadline": notice.deadline},
            )
            return summary
        notice.late = now - notice.due_at > LATE_AFTER
        summary.deliveries, summary.skipped = _write_deliveries(
            session, notice, outage, now, enabled_channels
        )
        summary.notices = 1
        summary.late_notices = int(notice.late)
    log.info(
        "notice expanded",
        extra={
            "notice_id": notice_id,
            "kind": notice.kind,
            "audience": notice.audience,
            "deliveries": summary.deliveries,
            "skipped": summary.skipped,
            "late": notice.late,
        },
    )
    return summary


# The columns an expanded row sets; the others start NULL.
_COLUMNS = (
    "notice_id",
    "channel",
    "address",
    "customer_id",
    "subscriber_id",
    "language",
    "state",
    "attempts",
    "next_attempt_at",
    "deadline",
    "late",
    "duplicate",
    "created_at",
    "updated_at",
    "error",
    "told_revision",
)


def _write_deliveries(
    session: Session, notice: Notice, outage: Outage, now: datetime, enabled: frozenset[str]
) -> tuple[int, int]:
    """Insert the notice's rows as targeting yields them, ``_INSERT_CHUNK`` at a time, so
    memory stays flat whatever the notice's size; (rows written, of which skipped).

    A contact shared by several accounts is written once, for the first of them, by the
    UNIQUE constraint (ON CONFLICT DO NOTHING). Skipped rows are written after every
    deliverable one: a contact flagged invalid on one account must not shadow the same
    contact on another. They are few (opted out, flagged, no contact) and wait in a list.

    A change notice's row also records what its contact was last told, looked up for each
    chunk (delivery/told.py): its text states the change against that.
    """
    connection = session.connection()
    statement, values = _statement(connection.dialect, notice, now)
    last_told = LastTold(session, notice)
    before = _row_counts(session, notice)
    skipped: list[tuple[Any, ...]] = []
    chunk: list[Recipient] = []

    def write(part: list[Recipient]) -> None:
        told = last_told.revisions(r.address for r in part)
        rows = [values.pending(r, enabled, last_told.of(told, r.address)) for r in part]
        connection.exec_driver_sql(statement, rows)

    for item in recipients(session, outage, audience=notice.audience):
        if isinstance(item, Skipped):
            skipped.append(values.skipped(item))
            continue
        chunk.append(item)
        if len(chunk) >= _INSERT_CHUNK:
            write(chunk)
            chunk = []
    if chunk:
        write(chunk)
    for start in range(0, len(skipped), _INSERT_CHUNK):
        connection.exec_driver_sql(statement, skipped[start : start + _INSERT_CHUNK])
    after = _row_counts(session, notice)
    return after[0] - before[0], after[1] - before[1]


def _row_counts(session: Session, notice: Notice) -> tuple[int, int]:
    """(rows, of which skipped) the notice has: counted before and after writing, not summed
    from rowcounts, which drivers report unevenly for executemany. Rows are written by the
    process that claimed the notice only, so the difference is what this one wrote."""
    is_skipped = col(Delivery.state) == DeliveryState.SKIPPED
    counts = dict(
        session.execute(
            select(is_skipped, func.count())
            .where(col(Delivery.notice_id) == notice.id)
            .group_by(is_skipped)
        ).all()
    )
    skipped = int(counts.get(True, 0))
    return skipped + int(counts.get(False, 0)), skipped


def _statement(dialect: Any, notice: Notice, now: datetime) -> tuple[str, _Values]:
    """The INSERT in the driver's own terms, and the row builder: values are bound by the
    driver, not by SQLAlchemy per row (half the time of an expansion went there)."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO delivery ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join(marker for _ in _COLUMNS)}) "
        "ON CONFLICT (notice_id, address, channel) DO NOTHING"
    )
    table = Delivery.__table__  # type: ignore[attr-defined]

    def bound(column: str, value: Any) -> Any:
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return process(value) if process else value

    when = {
        name: bound("next_attempt_at", getattr(notice, spec.due_column))
        for name, spec in registry.CHANNELS.items()
    }
    return statement, _Values(
        notice_id=notice.id,
        now=bound("created_at", now),
        deadline=bound("deadline", notice.deadline),
        due=when,
        false=bound("late", False),
    )


_PENDING, _SKIPPED = DeliveryState.PENDING.value, DeliveryState.SKIPPED.value


@dataclass(frozen=True)
class _Values:
    notice_id: int | None
    now: Any
    deadline: Any
    due: dict[str, Any]
    false: Any

    def pending(
        self, recipient: Recipient, enabled: frozenset[str], told: int | None
    ) -> tuple[Any, ...]:
        on = recipient.channel in enabled
        return (
            self.notice_id,
            recipient.channel,
            recipient.address,
            recipient.customer_id,
            recipient.subscriber_id,
            recipient.language,
            _PENDING if on else _SKIPPED,
            0,
            self.due[recipient.channel],
            self.deadline,
            self.false,
            self.false,
            self.now,
            self.now,
            None if on else "channel_disabled",
            told,
        )

    def skipped(self, skipped: Skipped) -> tuple[Any, ...]:
        # Without an address the row stands for the premise, so reports can name who was not
        # reached; it is never sent.
        who = (
            f"customer:{skipped.customer_id}"
            if skipped.customer_id
            else f"subscriber:{skipped.subscriber_id}"
        )
        return (
            self.notice_id,
            skipped.channel,
            skipped.address or who,
            skipped.customer_id,
            skipped.subscriber_id,
            skipped.language,
            _SKIPPED,
            0,
            self.now,
            self.deadline,
            self.false,
            self.false,
            self.now,
            self.now,
            skipped.reason,
            None,
        )


def expire_overdue(database: Database, now: datetime) -> int:
    """Pending deliveries whose deadline passed (the work started) are expired, never sent."""
    with database.session() as session:
        result = session.execute(
            update(Delivery)
            .where(col(Delivery.state) == DeliveryState.PENDING, col(Delivery.deadline) <= now)
            .values(state=DeliveryState.EXPIRED, updated_at=now, error="deadline passed")
        )
        count: int = result.rowcount  # type: ignore[attr-defined]
    if count:
        log.warning("deliveries expired unsent", extra={"count": count})
    return count


def next_due(database: Database) -> datetime | None:
    """When there is next something to do: a notice falling due or a retry."""
    with database.read() as session:
        notice = session.exec(
            select(Notice.due_at, Notice.sms_due_at)
            .where(col(Notice.state) == NoticeState.PENDING)
            .order_by(col(Notice.due_at))
            .limit(1)
        ).first()
        sms_notice = session.exec(
            select(Notice.sms_due_at)
            .where(col(Notice.state) == NoticeState.PENDING)
            .order_by(col(Notice.sms_due_at))
            .limit(1)
        ).first()
        retry = session.exec(
            select(Delivery.next_attempt_at)
            .where(col(Delivery.state) == DeliveryState.PENDING)
            .order_by(col(Delivery.next_attempt_at))
            .limit(1)
        ).first()
    candidates = [t for t in (notice[0] if notice else None, sms_notice, retry) if t is not None]
    return min(candidates) if candidates else None


def pending_count(database: Database) -> int:
    """Deliveries still waiting: retries and later due times."""
    with database.read() as session:
        count = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.state) == DeliveryState.PENDING)
        ).one()
    return int(count)
