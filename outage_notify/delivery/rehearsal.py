"""``dispatch --once --dry-run``: what a pass at a given time would send, read, never written.

A rehearsal clock must never change real state (docs/decisions/0021): the real pass claims
notices, writes the outbox and calls providers, so a rehearsal at ``--now T`` only reads. It
tells the notices that would fall due at T and what would become of each (expanded to whom,
per channel, or expired or superseded unsent), and the queued deliveries that would go or
expire. Crash recovery and the critical-needs ladder are not rehearsed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.outbox import LATE_AFTER, due_notice_ids
from outage_notify.models import UPCOMING_KINDS, Delivery, DeliveryState, Notice, Outage
from outage_notify.planning.targeting import Skipped, recipients


def rehearse(database: Database, now: datetime, *, enabled: frozenset[str]) -> dict[str, Any]:
    """What ``dispatch --once`` at ``now`` would do, as JSON-ready data."""
    due = due_notice_ids(database, now)
    with database.read() as session:
        notices = [_notice(session, notice_id, now, enabled) for notice_id in due]
        queued = _queued(session, now)
    return {"dry_run": True, "now": now, "notices": notices, **queued}


def _notice(
    session: Session, notice_id: int, now: datetime, enabled: frozenset[str]
) -> dict[str, Any]:
    notice = session.get(Notice, notice_id)
    assert notice is not None
    outage = session.get(Outage, notice.outage_id)
    assert outage is not None
    shown: dict[str, Any] = {
        "id": notice_id,
        "outage_id": outage.id,
        "kind": notice.kind,
        "audience": notice.audience,
        "due_at": notice.due_at,
        "late": now - notice.due_at > LATE_AFTER,
        "recipients": {},
        "skipped": 0,
    }
    # The outbox's own rules, in its order (delivery/outbox.py expand_notice).
    if notice.kind in UPCOMING_KINDS and notice.revision != outage.revision:
        return {**shown, "fate": "superseded"}
    if now >= notice.deadline:
        return {**shown, "fate": "expired"}
    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    skipped = 0
    for item in recipients(session, outage, audience=notice.audience):
        if isinstance(item, Skipped) or item.channel not in enabled:
            skipped += 1
        elif (item.channel, item.address) not in seen:
            seen.add((item.channel, item.address))
            counts[item.channel] += 1
    return {
        **shown,
        "fate": "expanded",
        "recipients": {c: counts[c] for c in registry.names() if counts[c]},
        "skipped": skipped,
    }


def _queued(session: Session, now: datetime) -> dict[str, Any]:
    """Deliveries already in the outbox that this pass would send (retries, held SMS) or
    expire (their deadline passed)."""
    pending = col(Delivery.state) == DeliveryState.PENDING
    going = dict(
        session.exec(
            select(Delivery.channel, func.count())
            .where(pending, col(Delivery.next_attempt_at) <= now, col(Delivery.deadline) > now)
            .group_by(col(Delivery.channel))
        ).all()
    )
    expiring = session.exec(
        select(func.count()).where(pending, col(Delivery.deadline) <= now)
    ).one()
    return {"queued": {c: int(n) for c, n in sorted(going.items())}, "would_expire": int(expiring)}
