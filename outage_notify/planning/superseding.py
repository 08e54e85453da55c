"""What a change does to the notices already planned: superseded, reissued or merged.

A reschedule or a cancellation supersedes the pending notices of earlier revisions (and the
queued deliveries of notices already out); an extension reissues the pending advance and
reminders under the new revision and merges a change that has not gone out yet
(docs/decisions/0003-notices-belong-to-a-revision.md).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from outage_notify.models import CHANGE_KINDS, Delivery, DeliveryState, Notice, NoticeState, Outage
from outage_notify.planning.timeline import (
    ALL,
    LEAD_KINDS,
    NOTIFIED,
    PlannedNotice,
    add_notices,
)


def supersede_pending(session: Session, outage: Outage) -> tuple[int, int]:
    """Mark the pending notices of earlier revisions, and the pending deliveries of any
    earlier notice, superseded. Returns (notices, deliveries)."""
    earlier = select(Notice.id).where(
        Notice.outage_id == outage.id, col(Notice.revision) < outage.revision
    )
    deliveries = session.execute(
        update(Delivery)
        .where(
            col(Delivery.notice_id).in_(earlier),
            col(Delivery.state) == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.SUPERSEDED)
    )
    notices = session.execute(
        update(Notice)
        .where(
            col(Notice.outage_id) == outage.id,
            col(Notice.revision) < outage.revision,
            col(Notice.state) == NoticeState.PENDING,
        )
        .values(state=NoticeState.SUPERSEDED)
    )
    # DML results are CursorResults; the stubs type session.execute more loosely.
    return int(notices.rowcount), int(deliveries.rowcount)  # type: ignore[attr-defined]


def reissue_pending(session: Session, outage: Outage) -> list[Notice]:
    """Carry the pending advance and reminders over to the current revision (same times),
    so they tell the current facts; the old rows are marked superseded."""
    pending = session.exec(
        select(Notice).where(
            Notice.outage_id == outage.id,
            col(Notice.revision) < outage.revision,
            Notice.state == NoticeState.PENDING,
            col(Notice.kind).in_(LEAD_KINDS),
        )
    ).all()
    for notice in pending:
        notice.state = NoticeState.SUPERSEDED
        session.add(notice)
    session.flush()
    return add_notices(
        session,
        outage,
        [
            PlannedNotice(
                n.kind,
                n.audience,
                n.due_at,
                n.sms_due_at,
                n.shifted_for_quiet_hours,
                n.urgent,
                n.deadline,
            )
            for n in pending
        ],
    )


def merge_pending_changes(session: Session, outage: Outage) -> str:
    """An extension merges a change that has not gone out to everyone: the pending change
    notices of earlier revisions and the pending deliveries of earlier ones are superseded
    (each would tell an end that no longer holds). Returns the audience the extended notice
    needs: everyone when a merged change was for everyone, else those notified."""
    rows = session.exec(
        select(Notice.id, Notice.audience, Notice.state).where(
            Notice.outage_id == outage.id,
            col(Notice.revision) < outage.revision,
            col(Notice.kind).in_(CHANGE_KINDS),
            col(Notice.state).in_([NoticeState.PENDING, NoticeState.EXPANDED]),
        )
    ).all()
    held = set(
        session.exec(
            select(Delivery.notice_id).where(
                col(Delivery.notice_id).in_([r[0] for r in rows]),
                col(Delivery.state) == DeliveryState.PENDING,
            )
        ).all()
    )
    merged = [
        (i, audience) for i, audience, state in rows if state == NoticeState.PENDING or i in held
    ]
    ids = [i for i, _ in merged]
    session.execute(
        update(Delivery)
        .where(col(Delivery.notice_id).in_(ids), col(Delivery.state) == DeliveryState.PENDING)
        .values(state=DeliveryState.SUPERSEDED)
    )
    session.execute(
        update(Notice)
        .where(col(Notice.id).in_(ids), col(Notice.state) == NoticeState.PENDING)
        .values(state=NoticeState.SUPERSEDED)
    )
    return ALL if any(audience == ALL for _, audience in merged) else NOTIFIED


def anyone_notified(session: Session, outage: Outage) -> bool:
    """Whether a notice of this outage has reached (been expanded to) anyone yet."""
    found = session.exec(
        select(Notice.id).where(Notice.outage_id == outage.id, Notice.state == NoticeState.EXPANDED)
    ).first()
    return found is not None
