"""Sends that got no answer: a timeout after which the lookup failed too.

After a timeout the provider may hold the message all the same, so the dispatcher asks it
(:func:`ask_provider`) before anything is sent again. When that lookup fails as well (a 429
or a 5xx: likely, in the very storm that caused the timeout), a blind resend could reach the
resident twice. Such a delivery stays ``sending``, marked ``claimed_by = "unanswered"``, as a
crashed send stays ``sending``, and :func:`look_again` (run with crash recovery, every tick of
the scheduler) asks the provider again from ``next_attempt_at`` on:

- found: recorded as sent, with its SID; not found: pending, sent again (the provider said so);
- the lookup fails again: asked again later (a minute, or the provider's ``Retry-After``),
  while that still leaves time before the deadline;
- the next lookup would come after the deadline: sent again now, once, flagged ``duplicate``
  (the resident may have it twice, and the report counts it); past the deadline: expired;
- a status callback carrying the delivery id answers it as well (it adopts the row).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from channels.base import ChannelError, Message, PushChannel
from outage_notify.db import Database
from outage_notify.delivery.attempts import (
    AMBIGUOUS_CODES,
    LOOKUP_SKEW,
    Attempt,
    ClaimedDelivery,
    Composer,
    claimed_from,
    lookup_of,
)
from outage_notify.models import Delivery, DeliveryState, Notice

log = logging.getLogger(__name__)

UNANSWERED = "unanswered"  # claimed_by of a delivery waiting for the provider to answer
LOOK_AGAIN_AFTER = timedelta(minutes=1)
NO_ANSWER: Any = object()  # ask_provider: the provider could not be asked


def ask_provider(
    channel: PushChannel, claimed: ClaimedDelivery, message: Message, error: ChannelError
) -> Any:
    """What the provider holds of ``message`` after ``error``: the message (found), None
    (not found, or the error says nothing was sent, or the channel cannot be asked), or
    NO_ANSWER when the lookup failed too. The body tells this message from others."""
    lookup = lookup_of(channel, claimed.channel)
    if error.code not in AMBIGUOUS_CODES or lookup is None:
        return None
    try:
        candidates = lookup(claimed.address, claimed.claimed_at - LOOKUP_SKEW)
    except ChannelError as failed:
        log.info(
            "lookup after a timeout failed: asking again later (%s)",
            failed.reason,
            extra={"delivery_id": claimed.id, "code": failed.code},
        )
        return NO_ANSWER
    found = next((m for m in candidates if getattr(m, "body", None) == message.text), None)
    if found is not None:
        log.info(
            "found at the provider after a timeout",
            extra={"delivery_id": claimed.id, "provider_id": found.sid},
        )
    return found


def _next_look(now: datetime, retry_after: float | None) -> datetime:
    return now + max(LOOK_AGAIN_AFTER, timedelta(seconds=retry_after or 0))


def _decide(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """No answer, and no time left to wait for one before the deadline: send it again once
    (flagged: it may go twice), or, past the deadline or already sent again, expire."""
    reason = delivery.error or "no answer from the provider"
    if delivery.duplicate and now < delivery.deadline:
        return {"next_attempt_at": delivery.deadline}  # never a third time: wait, then expire
    if now >= delivery.deadline or delivery.duplicate:
        text = f"deadline passed with no answer from the provider (it may have it): {reason}"
        return {"state": DeliveryState.EXPIRED, "claimed_by": None, "error": text[:500]}
    text = f"no answer from the provider before the deadline: sent again, may go twice: {reason}"
    return {
        "state": DeliveryState.PENDING,
        "next_attempt_at": now,
        "claimed_by": None,
        "duplicate": True,
        "error": text[:500],
    }


def unanswered_attempt(claimed: ClaimedDelivery, error: ChannelError, now: datetime) -> Attempt:
    """A send that timed out and whose lookup failed: left ``sending`` for :func:`look_again`
    (at once when there is no time for a later lookup: it decides)."""
    look_at = _next_look(now, error.retry_after)
    reason = f"timed out ({error.code}) and the lookup got no answer: {error.reason}"
    values = {
        "claimed_by": UNANSWERED,
        "next_attempt_at": look_at if look_at < claimed.deadline else now,
        "error": reason[:500],
        "error_code": error.code,
    }
    return Attempt(claimed, "unanswered", now, values, error=error)


@dataclass
class LookAgainSummary:
    found: int = 0
    resent: int = 0  # the provider said it does not have it
    possible_duplicates: int = 0  # sent again without an answer, at the deadline
    expired: int = 0
    still_unanswered: int = 0


def look_again(
    database: Database, channels: Mapping[str, PushChannel], composer: Composer, *, now: datetime
) -> LookAgainSummary:
    """Ask the provider again about every unanswered delivery whose time has come."""
    summary = LookAgainSummary()
    with database.read() as session:
        rows = session.execute(
            select(Delivery, Notice)
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(
                col(Delivery.state) == DeliveryState.SENDING,
                col(Delivery.claimed_by) == UNANSWERED,
                col(Delivery.next_attempt_at) <= now,
            )
        ).all()
    for delivery, notice in rows:
        channel = channels.get(delivery.channel)
        if channel is not None:
            _ask_again(database, channel, composer, delivery, notice, now, summary)
    if rows:
        log.info("unanswered deliveries looked up again", extra=summary.__dict__)
    return summary


def _ask_again(
    database: Database,
    channel: PushChannel,
    composer: Composer,
    delivery: Delivery,
    notice: Notice,
    now: datetime,
    summary: LookAgainSummary,
) -> None:
    claimed = claimed_from(delivery, notice, now)
    error = ChannelError("no answer", permanent=False, code="timeout")
    found = ask_provider(channel, claimed, composer.compose(claimed), error)
    values: dict[str, Any]
    if found is NO_ANSWER:
        look_at = _next_look(now, None)
        values = {"next_attempt_at": look_at}
        if look_at >= delivery.deadline:
            values = _decide(delivery, now)
        summary.still_unanswered += int("state" not in values)
        summary.expired += int(values.get("state") == DeliveryState.EXPIRED)
        summary.possible_duplicates += int(values.get("duplicate", False))
    elif found is not None:
        values = {
            "state": DeliveryState.SENT,
            "provider_id": found.sid,
            "sent_at": delivery.claimed_at,
            "claimed_by": None,
            "error": "found at the provider after a timeout",
            "error_code": None,
        }
        summary.found += 1
    else:
        values = {"state": DeliveryState.PENDING, "next_attempt_at": now, "claimed_by": None}
        values["error"] = "not at the provider after a timeout: sent again"
        summary.resent += 1
    with database.session() as session:
        session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery.id,
                col(Delivery.state) == DeliveryState.SENDING,
                col(Delivery.claimed_by) == UNANSWERED,
            )
            .values(updated_at=now, **values)
        )
