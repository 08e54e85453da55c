"""The outbox: a notice that falls due is expanded into one Delivery per (notice, recipient,
channel). Recipients are matched at that moment, not at planning: people move, opt out and
subscribe in between. The UNIQUE constraint makes expansion safe to repeat, and a conditional
UPDATE on the notice lets one process expand it while any other skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.models import (
    UPCOMING_KINDS,
    Delivery,
    DeliveryState,
    Notice,
    NoticeState,
    Outage,
)
from outage_notify.planning.targeting import Recipient, Skipped, target

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
        targeting = target(session, outage, audience=notice.audience)
        rows = [_pending_row(notice, r, now, enabled_channels) for r in targeting.recipients]
        rows += [_skipped_row(notice, s, now) for s in targeting.skipped]
        inserted = _insert_ignoring_duplicates(session, rows)
        summary.notices = 1
        summary.late_notices = int(notice.late)
        summary.skipped = sum(1 for r in rows if r["state"] == DeliveryState.SKIPPED)
        summary.deliveries = inserted
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


def _base_row(notice: Notice, now: datetime) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "attempts": 0,
        "deadline": notice.deadline,
        "late": False,
        "duplicate": False,
        "created_at": now,
        "updated_at": now,
        "claimed_by": None,
        "claimed_at": None,
        "sent_at": None,
        "delivered_at": None,
        "provider_id": None,
        "error_code": None,
        "error": None,
    }


def _pending_row(
    notice: Notice, recipient: Recipient, now: datetime, enabled: frozenset[str]
) -> dict[str, Any]:
    row = _base_row(notice, now)
    due = getattr(notice, registry.spec(recipient.channel).due_column)
    row.update(
        channel=recipient.channel,
        address=recipient.address,
        customer_id=recipient.customer_id,
        subscriber_id=recipient.subscriber_id,
        language=recipient.language,
        state=DeliveryState.PENDING,
        next_attempt_at=due,
    )
    if recipient.channel not in enabled:
        row.update(state=DeliveryState.SKIPPED, error="channel_disabled")
    return row


def _skipped_row(notice: Notice, skipped: Skipped, now: datetime) -> dict[str, Any]:
    row = _base_row(notice, now)
    # Without an address the row stands for the premise, so reports can name who was not
    # reached; it is never sent.
    who = (
        f"customer:{skipped.customer_id}"
        if skipped.customer_id
        else f"subscriber:{skipped.subscriber_id}"
    )
    row.update(
        channel=skipped.channel,
        address=skipped.address or who,
        customer_id=skipped.customer_id,
        subscriber_id=skipped.subscriber_id,
        language=skipped.language,
        state=DeliveryState.SKIPPED,
        next_attempt_at=now,
        error=skipped.reason,
    )
    return row


def _insert_ignoring_duplicates(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = Delivery.__table__  # type: ignore[attr-defined]
    inserted = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        statement = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["notice_id", "address", "channel"])
            .returning(table.c.id)
        )
        # RETURNING counts what went in; rowcount is unreliable for executemany.
        inserted += len(session.connection().execute(statement, list(chunk)).all())
    return inserted


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
