"""Unsubscribing: the opt-out an unsubscribe link asks for, and the end of its subscriptions.

The links themselves (signed tokens naming a channel and an address) are made and read in
``notices/unsubscribe_links.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from outage_notify import audit, registry
from outage_notify.db import utcnow
from outage_notify.models import Subscriber, SubscriberStatus
from outage_notify.notices.unsubscribe_links import UnsubscribeToken
from outage_notify.residents import optouts


@dataclass(frozen=True)
class UnsubscribeResult:
    opted_out: bool  # False when the address had already opted out
    subscriptions_ended: int  # Subscriber rows of the address now unsubscribed


def unsubscribe(
    session: Session,
    token: UnsubscribeToken,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> UnsubscribeResult:
    """Opt the address out of the channel and end its area subscriptions. Idempotent."""
    now = now or utcnow()
    # The one-click link is in every email: the opt-out is the email's; else the web page's.
    source = token.channel if registry.spec(token.channel).message == "email" else "web"
    opted_out = optouts.opt_out(
        session,
        channel=token.channel,
        address=token.address,
        source=source,
        actor=actor,
        reason=reason,
    )
    rows = session.exec(
        select(Subscriber).where(
            Subscriber.channel == token.channel,
            Subscriber.address == token.address,
            col(Subscriber.status) != SubscriberStatus.UNSUBSCRIBED,
        )
    ).all()
    for row in rows:
        before = row.move_to(SubscriberStatus.UNSUBSCRIBED, now)
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="subscriber.unsubscribe",
            entity="subscriber",
            entity_id=row.id,
            before={"status": before},
            after={"status": row.status, "source": source},
        )
    return UnsubscribeResult(opted_out=opted_out, subscriptions_ended=len(rows))
