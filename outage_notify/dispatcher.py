"""The dispatcher: claims due deliveries, sends them, writes the result back.

Exactly once, as far as a network allows: a delivery is claimed (marked ``sending`` and
committed) before its channel is called, and its result is written in a second transaction
after the call, so no transaction is ever open across a network call. A crash between the two
leaves it ``sending``; ``recovery.reconcile`` settles those on the next start. Claims are one
conditional UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of processes can
share the work without sending anything twice.

Retries, backoff and rate limits live here, not in the channels.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlmodel import Session, col

from channels.base import ChannelError, DeliveryResult, Message, PushChannel
from outage_notify import optouts
from outage_notify.db import Database, utcnow
from outage_notify.models import (
    UPCOMING_KINDS,
    Customer,
    Delivery,
    DeliveryState,
    Notice,
    OptOut,
)
from outage_notify.outbox import LATE_AFTER, ExpansionSummary, expand_due, expire_overdue
from outage_notify.ratelimit import TokenBucket

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    """``host:pid:token``: recovery tells a dead local process's claims from a live one's."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    notice_id: int
    outage_id: int
    kind: str
    channel: str
    address: str
    language: str
    customer_id: int | None
    subscriber_id: int | None
    attempts: int  # including this one
    due_at: datetime  # when the notice was due on this channel
    deadline: datetime
    claimed_by: str

    @property
    def recipient_id(self) -> str:
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"subscriber:{self.subscriber_id}"

    @property
    def valid_until(self) -> datetime | None:
        return self.deadline if self.kind in UPCOMING_KINDS else None


class Composer(Protocol):
    """Renders the message of a claimed delivery (``compose.NoticeComposer`` in production)."""

    def compose(self, delivery: ClaimedDelivery) -> Message: ...


@dataclass
class Backoff:
    """Exponential backoff with jitter, never sooner than the provider's ``Retry-After``."""

    base: float = 10.0
    factor: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * self.factor ** max(attempts - 1, 0))
        # "Equal jitter": half fixed, half random, so retries spread without collapsing to 0.
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return max(delay, retry_after or 0.0)


@dataclass
class DispatchSummary:
    expansion: ExpansionSummary = field(default_factory=ExpansionSummary)
    expired: int = 0
    results: Counter[str] = field(default_factory=Counter)  # "sms/sent", "email/retry", ...
    more: bool = False  # the pass ended on its time budget with work left

    def as_dict(self) -> dict[str, Any]:
        return {
            "notices_expanded": self.expansion.notices,
            "deliveries_created": self.expansion.deliveries,
            "skipped_at_expansion": self.expansion.skipped,
            "notices_expired": self.expansion.expired_notices,
            "notices_late": self.expansion.late_notices,
            "deliveries_expired": self.expired,
            "results": dict(sorted(self.results.items())),
        }


_CLAIM_COLUMNS = (
    col(Delivery.id),
    col(Delivery.notice_id),
    col(Delivery.channel),
    col(Delivery.address),
    col(Delivery.language),
    col(Delivery.customer_id),
    col(Delivery.subscriber_id),
    col(Delivery.attempts),
    col(Delivery.deadline),
)


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, PushChannel],
        *,
        composer: Composer,
        concurrency: Mapping[str, int],
        rates: Mapping[str, float],
        worker_id: str | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.channels = dict(channels)
        self.composer = composer
        self.concurrency = dict(concurrency)
        self.buckets = {name: TokenBucket(rates[name]) for name in self.channels}
        self.worker_id = worker_id or new_worker_id()
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.stop = stop or threading.Event()
        self._results_lock = threading.Lock()
        self._budget_end: float | None = None

    # -- one pass -------------------------------------------------------------------------

    def run_once(
        self, now: datetime | None = None, *, expand: bool = True, budget: float | None = None
    ) -> DispatchSummary:
        """Expand what is due and send every delivery that can go now.

        With ``now`` given (``dispatch --once --now T``) the whole pass runs at that instant;
        otherwise each claim reads the clock, so a long fan-out never sends past a deadline.
        ``budget`` (seconds) ends the pass early so the daemon can expand newly due notices
        during a long, rate-limited fan-out; ``summary.more`` then says work remains.
        """
        current: Callable[[], datetime] = (lambda: now) if now is not None else self.clock
        summary = DispatchSummary()
        self._budget_end = None if budget is None else time.monotonic() + budget
        if expand:
            summary.expansion = expand_due(self.database, current(), enabled_channels=self.channels)
            summary.expired = expire_overdue(self.database, current())
        pools = []
        for name, channel in self.channels.items():
            workers = max(1, self.concurrency.get(name, 1))
            pool = ThreadPoolExecutor(workers, thread_name_prefix=f"send-{name}")
            for _ in range(workers):
                pool.submit(self._work, name, channel, current, summary)
            pools.append(pool)
        for pool in pools:
            pool.shutdown(wait=True)
        return summary

    def _work(
        self,
        name: str,
        channel: PushChannel,
        current: Callable[[], datetime],
        summary: DispatchSummary,
    ) -> None:
        try:
            while not self.stop.is_set():
                if self._budget_end is not None and time.monotonic() > self._budget_end:
                    summary.more = True
                    return
                if not self.buckets[name].acquire(self.stop):
                    return
                claimed = self.claim(name, current())
                if claimed is None:
                    return
                if isinstance(claimed, str):
                    self._count(summary, f"{name}/{claimed}")
                    continue
                outcome = self.send(channel, claimed, current)
                self._count(summary, f"{name}/{outcome}")
        except Exception:  # a bug must not kill the other workers silently
            log.exception("dispatch worker failed", extra={"channel": name})
            raise

    def _count(self, summary: DispatchSummary, key: str) -> None:
        with self._results_lock:
            summary.results[key] += 1

    # -- claim ----------------------------------------------------------------------------

    def claim(self, channel: str, now: datetime) -> ClaimedDelivery | str | None:
        """Mark the next due delivery ``sending`` and commit; None when nothing is due.

        Returns ``"skipped"`` when the claimed delivery turned out to be opted out or its
        contact flagged invalid since expansion (checked here, just before the send, so a STOP
        that arrives mid fan-out stops the rest).
        """
        with self.database.session() as session:
            due = (
                select(col(Delivery.id))
                .where(
                    col(Delivery.channel) == channel,
                    col(Delivery.state) == DeliveryState.PENDING,
                    col(Delivery.next_attempt_at) <= now,
                    col(Delivery.deadline) > now,
                )
                .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
                .limit(1)
            )
            if not self.database.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            row = session.execute(
                update(Delivery)
                .where(col(Delivery.id) == due.scalar_subquery())
                .values(
                    state=DeliveryState.SENDING,
                    claimed_by=self.worker_id,
                    claimed_at=now,
                    attempts=col(Delivery.attempts) + 1,
                    updated_at=now,
                )
                .returning(*_CLAIM_COLUMNS)
            ).first()
            if row is None:
                return None
            notice = session.get(Notice, row.notice_id)
            assert notice is not None
            claimed = ClaimedDelivery(
                id=row.id,
                notice_id=row.notice_id,
                outage_id=notice.outage_id,
                kind=notice.kind,
                channel=row.channel,
                address=row.address,
                language=row.language,
                customer_id=row.customer_id,
                subscriber_id=row.subscriber_id,
                attempts=row.attempts,
                due_at=notice.sms_due_at if channel == "sms" else notice.due_at,
                deadline=row.deadline,
                claimed_by=self.worker_id,
            )
            reason = _reason_not_to_send(session, claimed)
            if reason is None:
                return claimed
            self._finish(session, claimed, now, state=DeliveryState.SKIPPED, error=reason)
        log.info(
            "delivery skipped",
            extra={"delivery_id": claimed.id, "recipient": claimed.recipient_id, "reason": reason},
        )
        return "skipped"

    # -- send and record ------------------------------------------------------------------

    def send(
        self, channel: PushChannel, claimed: ClaimedDelivery, current: Callable[[], datetime]
    ) -> str:
        """Call the channel (no transaction open) and record what happened."""
        try:
            message = self.composer.compose(claimed)
        except Exception as exc:  # a template bug: the message can never be rendered
            log.exception("message could not be rendered", extra={"delivery_id": claimed.id})
            return self.record_error(
                claimed,
                ChannelError(f"render error: {exc}", permanent=True, code="render"),
                current(),
            )
        try:
            result = channel.send(message)
        except ChannelError as error:
            return self.record_error(claimed, error, current())
        except Exception as exc:  # a channel must raise ChannelError; retry rather than lose it
            log.exception("channel raised an unexpected error", extra={"delivery_id": claimed.id})
            return self.record_error(
                claimed, ChannelError(f"unexpected: {exc!r}", permanent=False), current()
            )
        return self.record_sent(claimed, result, current())

    def record_sent(self, claimed: ClaimedDelivery, result: DeliveryResult, now: datetime) -> str:
        state = DeliveryState.DELIVERED if result.state == "delivered" else DeliveryState.SENT
        with self.database.session() as session:
            self._finish(
                session,
                claimed,
                now,
                state=state,
                provider_id=result.provider_id,
                sent_at=now,
                delivered_at=now if state == DeliveryState.DELIVERED else None,
                late=now - claimed.due_at > LATE_AFTER,
                error=None,
                error_code=None,
            )
        log.info(
            "delivery sent",
            extra={
                "delivery_id": claimed.id,
                "recipient": claimed.recipient_id,
                "channel": claimed.channel,
                "attempts": claimed.attempts,
                "provider_id": result.provider_id,
            },
        )
        return str(state)

    def record_error(self, claimed: ClaimedDelivery, error: ChannelError, now: datetime) -> str:
        reason = error.reason[:500]
        context = {
            "delivery_id": claimed.id,
            "recipient": claimed.recipient_id,
            "channel": claimed.channel,
            "attempts": claimed.attempts,
            "code": error.code,
        }
        with self.database.session() as session:
            if error.permanent:
                self._finish(
                    session, claimed, now, state=DeliveryState.FAILED, error=reason,
                    error_code=error.code,
                )  # fmt: skip
                self._learn(session, claimed, error, now)
                log.warning("delivery failed: %s", reason, extra=context)
                return "failed"
            retry_at = now + timedelta(
                seconds=self.backoff.delay(claimed.attempts, error.retry_after)
            )
            if retry_at >= claimed.deadline:
                gave_up = f"gave up at the deadline after {claimed.attempts} attempts: {reason}"
                self._finish(
                    session, claimed, now, state=DeliveryState.FAILED, error_code=error.code,
                    error=gave_up[:500],
                )  # fmt: skip
                log.warning("delivery failed at its deadline: %s", reason, extra=context)
                return "failed"
            self._finish(
                session, claimed, now, state=DeliveryState.PENDING, next_attempt_at=retry_at,
                error=reason, error_code=error.code, claimed_by=None,
            )  # fmt: skip
        log.info("delivery will be retried at %s: %s", retry_at.isoformat(), reason, extra=context)
        return "retry"

    def _finish(
        self, session: Session, claimed: ClaimedDelivery, now: datetime, **values: Any
    ) -> None:
        # Only while it is still ours: a status callback may already have moved it on.
        session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == claimed.id,
                col(Delivery.state) == DeliveryState.SENDING,
                col(Delivery.claimed_by) == claimed.claimed_by,
            )
            .values(updated_at=now, **values)
        )

    def _learn(
        self, session: Session, claimed: ClaimedDelivery, error: ChannelError, now: datetime
    ) -> None:
        """What a permanent error tells about the contact, kept for every later notice."""
        if error.flag == "opted_out":
            optouts.opt_out(
                session, channel=claimed.channel, address=claimed.address, source="provider",
                actor="provider", reason=f"provider error {error.code}",
            )  # fmt: skip
        elif error.flag == "invalid_contact" and claimed.customer_id is not None:
            flag = "phone_invalid" if claimed.channel == "sms" else "email_invalid"
            session.execute(
                update(Customer)
                .where(col(Customer.id) == claimed.customer_id)
                .values({flag: True, "updated_at": now})
            )


def _reason_not_to_send(session: Session, claimed: ClaimedDelivery) -> str | None:
    opted_out = session.execute(
        select(col(OptOut.id)).where(
            col(OptOut.channel) == claimed.channel, col(OptOut.address) == claimed.address
        )
    ).first()
    if opted_out is not None:
        return "opted_out"
    if claimed.customer_id is not None:
        flag = (
            col(Customer.phone_invalid) if claimed.channel == "sms" else col(Customer.email_invalid)
        )
        invalid = session.execute(
            select(flag).where(col(Customer.id) == claimed.customer_id)
        ).scalar()
        if invalid:
            return "invalid_contact"
    return None
