"""Crash recovery: deliveries a dead process left ``sending``.

Such a delivery may or may not have reached the provider. Where the channel can look a
message up (Twilio: by recipient and time), what the provider has is the truth: found means
sent, not found means send it again. Where no lookup is possible (SMTP, the file backends) it
is sent again and flagged ``duplicate``: the recipient may get it twice, and the report says
so. The window is what was in flight at the crash: at most the channel's concurrency.

A dead process also leaves deliveries reserved (``pending``, ``claimed_by`` set, never handed
to a sender): those are simply given back, nothing to look up or flag. Another process takes
them anyway once the lease has run out; recovery frees them at once when it can tell the
process that reserved them is gone.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlmodel import col

from channels.base import ChannelError, PushChannel
from outage_notify.db import Database
from outage_notify.delivery.attempts import LOOKUP_SKEW, Composer, claimed_from, lookup_of
from outage_notify.delivery.unanswered import UNANSWERED, look_again
from outage_notify.models import Delivery, DeliveryState, Notice

log = logging.getLogger(__name__)

# A claim older than this belongs to a process that is gone or stuck: no send takes so long
# (the channels' own timeouts are far shorter).
LEASE = timedelta(minutes=5)


class SentMessageLike(Protocol):
    sid: str
    status: str


@dataclass
class RecoverySummary:
    found_at_provider: int = 0
    resent: int = 0
    possible_duplicates: int = 0
    lookup_failed: int = 0
    expired: int = 0  # no answer from the provider before the deadline
    reservations_released: int = 0  # reserved by a dead process, never sent: pending again

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def is_orphan(
    claimed_by: str | None,
    claimed_at: datetime | None,
    now: datetime,
    *,
    me: str,
    alive: Callable[[int], bool] = pid_alive,
) -> bool:
    if claimed_by == me:
        return False
    if claimed_at is None or now - claimed_at > LEASE:
        return True
    host, _, rest = (claimed_by or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's claim: trust it until the lease runs out
    pid = int(pid_text)
    return pid == os.getpid() or not alive(pid)  # same pid, other token: an earlier us


def reconcile(
    database: Database,
    channels: Mapping[str, PushChannel],
    composer: Composer,
    *,
    now: datetime,
    me: str,
    alive: Callable[[int], bool] = pid_alive,
) -> RecoverySummary:
    summary = RecoverySummary()
    summary.reservations_released = release_orphaned_reservations(
        database, now=now, me=me, alive=alive
    )
    with database.read() as session:
        rows = session.execute(
            select(Delivery, Notice)
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(col(Delivery.state) == DeliveryState.SENDING)
        ).all()
    for delivery, notice in rows:
        if delivery.claimed_by == UNANSWERED:
            continue  # a timed-out send waiting for the provider's answer: look_again's
        if not is_orphan(delivery.claimed_by, delivery.claimed_at, now, me=me, alive=alive):
            continue
        channel = channels.get(delivery.channel)
        if channel is None:
            continue  # that channel is disabled here; whoever has it will settle it
        _settle(database, channel, composer, delivery, notice, now, summary)
    if summary.found_at_provider or summary.resent or summary.possible_duplicates:
        log.warning("reconciled deliveries left sending by a crash", extra=summary.as_dict())
    asked = look_again(database, channels, composer, now=now)
    summary.found_at_provider += asked.found
    summary.resent += asked.resent + asked.possible_duplicates
    summary.possible_duplicates += asked.possible_duplicates
    summary.lookup_failed += asked.still_unanswered
    summary.expired += asked.expired
    return summary


def release_orphaned_reservations(
    database: Database, *, now: datetime, me: str, alive: Callable[[int], bool] = pid_alive
) -> int:
    """Give back what dead processes reserved and never marked sending."""
    pending_ours = (
        col(Delivery.state) == DeliveryState.PENDING,
        col(Delivery.claimed_by).is_not(None),
    )
    with database.read() as session:
        holders = session.execute(
            select(col(Delivery.claimed_by), func.max(col(Delivery.claimed_at)))
            .where(*pending_ours)
            .group_by(Delivery.claimed_by)
        ).all()
    released = 0
    for holder, newest in holders:
        if not is_orphan(holder, newest, now, me=me, alive=alive):
            continue
        with database.session() as session:
            result = session.execute(
                update(Delivery)
                .where(*pending_ours, col(Delivery.claimed_by) == holder)
                .values(claimed_by=None, updated_at=now)
            )
            released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    if released:
        log.info("released deliveries a dead process had reserved", extra={"count": released})
    return released


def _settle(
    database: Database,
    channel: PushChannel,
    composer: Composer,
    delivery: Delivery,
    notice: Notice,
    now: datetime,
    summary: RecoverySummary,
) -> None:
    assert delivery.id is not None
    lookup = lookup_of(channel, delivery.channel)
    found: Any = None
    if lookup is not None:
        claimed = claimed_from(delivery, notice, now)
        body = composer.compose(claimed).text
        since = (delivery.claimed_at or now) - LOOKUP_SKEW
        try:
            candidates = lookup(delivery.address, since)
        except ChannelError as error:
            summary.lookup_failed += 1
            log.warning(
                "lookup failed; will try again: %s",
                error.reason,
                extra={"delivery_id": delivery.id},
            )
            return
        # The same number may have had another notice since: the body tells them apart.
        found = next((m for m in candidates if getattr(m, "body", body) == body), None)
    where = (
        col(Delivery.id) == delivery.id,
        col(Delivery.state) == DeliveryState.SENDING,
        col(Delivery.claimed_by) == delivery.claimed_by,
    )
    with database.session() as session:
        if found is not None:
            session.execute(
                update(Delivery)
                .where(*where)
                .values(
                    state=DeliveryState.SENT,
                    provider_id=found.sid,
                    sent_at=delivery.claimed_at,
                    updated_at=now,
                    error="recovered after a crash: found at the provider",
                )
            )
            summary.found_at_provider += 1
            return
        duplicate = lookup is None
        session.execute(
            update(Delivery)
            .where(*where)
            .values(
                state=DeliveryState.PENDING,
                next_attempt_at=now,
                claimed_by=None,
                updated_at=now,
                duplicate=duplicate,
                error="resent after a crash" + ("; may have gone twice" if duplicate else ""),
            )
        )
    summary.resent += 1
    summary.possible_duplicates += int(duplicate)
