"""The dispatcher: claims due deliveries, sends them, writes the result back.

Exactly once, as far as a network allows: a delivery is claimed (marked ``sending`` and
committed) before its channel is called, and its result is written in a later transaction
after the call, so no transaction is ever open across a network call. A crash between the two
leaves it ``sending``; ``recovery.reconcile`` settles those on the next start. Work is
reserved in batches by one conditional UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
any number of processes can share it without sending anything twice; a reserved delivery is
marked ``sending`` only when a sender takes it (``reservations``, ``fanout``).

Retries, backoff and rate limits live here, not in the channels.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection
from sqlmodel import Session

from channels.base import ChannelError, DeliveryResult, PushChannel
from outage_notify import registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery import claims, unanswered
from outage_notify.delivery.attempts import (
    Attempt,
    Backoff,
    ClaimedDelivery,
    Composer,
    DispatchSummary,
    new_worker_id,
)
from outage_notify.delivery.fanout import FanOut
from outage_notify.delivery.outbox import LATE_AFTER, expand_due, expire_overdue
from outage_notify.delivery.ratelimit import TokenBucket
from outage_notify.delivery.reservations import Reservations
from outage_notify.delivery.status_callbacks import apply_contact_flag
from outage_notify.models import DeliveryState
from outage_notify.planning.timeline import in_quiet_hours, quiet_period

log = logging.getLogger(__name__)

# Ledger transactions a channel's fan-out keeps going at once on PostgreSQL. A commit there
# waits for the WAL to reach the disk (4 to 6 ms here), and a sender waits for the commit
# that marks its next delivery: with two, a result that comes back while one commits is
# written by the other at once. SQLite has one writer at a time: one lane.
POSTGRES_LANES = 2


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, PushChannel],
        *,
        composer: Composer,
        concurrency: Mapping[str, int],
        rates: Mapping[str, float],
        buckets: Mapping[str, TokenBucket] | None = None,
        worker_id: str | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
        on_result: Callable[[str, str], None] | None = None,
        quiet_hours: tuple[dt_time, dt_time] | None = None,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.database = database
        self.channels = dict(channels)
        self.composer = composer
        self.concurrency = dict(concurrency)
        # Shared with whatever else sends on the channel in this process (sign-up codes),
        # when the engine factory passes them; else one of its own per channel.
        given = buckets or {}
        self.buckets = {name: given.get(name) or TokenBucket(rates[name]) for name in channels}
        self.worker_id = worker_id or new_worker_id()
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.stop = stop or threading.Event()
        self._results_lock = threading.Lock()
        self.reservations = Reservations(self.worker_id, skip_locked=not database.is_sqlite)
        self._finisher = claims.Finisher()
        self._budget_end: float | None = None
        self.on_result = on_result  # (channel, outcome) after each delivery: progress bars
        self.quiet_hours = quiet_hours
        self.zone = zone or ZoneInfo("UTC")

    # -- one pass -------------------------------------------------------------------------

    def run_once(
        self, now: datetime | None = None, *, expand: bool = True, budget: float | None = None
    ) -> DispatchSummary:
        """Expand what is due and send every delivery that can go now.

        With ``now`` given (the demo, tests) the whole pass runs at that instant;
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
        # One fan-out per channel, side by side: one channel failing never stops another.
        with ThreadPoolExecutor(len(self.channels) or 1, thread_name_prefix="ledger") as pool:
            futures = [
                pool.submit(self._fanout(name, channel, current, summary).run)
                for name, channel in self.channels.items()
            ]
        for future in futures:
            future.result()  # a bug surfaces here, after the other channels finished
        return summary

    def _fanout(
        self,
        name: str,
        channel: PushChannel,
        current: Callable[[], datetime],
        summary: DispatchSummary,
    ) -> FanOut:
        def promote(
            connection: Connection, now: datetime, wanted: list[ClaimedDelivery]
        ) -> tuple[list[ClaimedDelivery], int]:
            # Every round, not only when reserving: quiet hours that begin mid fan-out hold
            # what is already reserved too (promote leaves deferred ones unmarked).
            self.defer_for_quiet_hours(connection, name, now)
            return self.reservations.promote(connection, name, now, wanted)

        return FanOut(
            name,
            size=self.concurrency.get(name, 1),
            connect=self.database.engine.connect,
            reserve=lambda connection, now, k: self.reservations.reserve(connection, name, now, k),
            promote=promote,
            give_back=self.reservations.release,
            record=self.write_many,
            attempt=lambda claimed: self.attempt(channel, claimed, current),
            release=lambda claimed: self.released(claimed, current()),
            count=lambda key: self.count(summary, key),
            bucket=self.buckets[name],
            stop=self.stop,
            over_budget=self.over_budget,
            current=current,
            summary=summary,
            lanes=1 if self.database.is_sqlite else POSTGRES_LANES,
        )

    def over_budget(self) -> bool:
        return self._budget_end is not None and time.monotonic() > self._budget_end

    def count(self, summary: DispatchSummary, key: str) -> None:
        with self._results_lock:
            summary.results[key] += 1
            if self.on_result is not None:
                channel, _, outcome = key.partition("/")
                self.on_result(channel, outcome)

    # -- claim ----------------------------------------------------------------------------

    def defer_for_quiet_hours(self, connection: Connection, channel: str, now: datetime) -> int:
        """Not on a channel quiet hours apply to (SMS): what can wait until they end waits.

        The timeline already plans those outside them, but a long fan-out that starts just
        before can run into them; anything whose deadline (the work start) comes before the
        quiet hours end goes anyway, as the timeline's urgent notices do.
        """
        if not registry.spec(channel).quiet_hours_apply:
            return 0
        if not in_quiet_hours(now, self.quiet_hours, self.zone):
            return 0
        assert self.quiet_hours is not None
        _start, quiet_end = quiet_period(now, self.quiet_hours, self.zone)
        result = connection.execute(
            claims.DEFER_QUIET, {"d_channel": channel, "now": now, "quiet_end": quiet_end}
        )
        return int(result.rowcount or 0)

    # -- send and record ------------------------------------------------------------------

    def attempt(
        self, channel: PushChannel, claimed: ClaimedDelivery, current: Callable[[], datetime]
    ) -> Attempt:
        """Render and send one message; what became of it, not yet written anywhere."""
        try:
            message = self.composer.compose(claimed)
        except Exception as exc:  # a template bug: the message can never be rendered
            log.exception("message could not be rendered", extra={"delivery_id": claimed.id})
            render = ChannelError(f"render error: {exc}", permanent=True, code="render")
            return self._failed_attempt(claimed, render, current())
        try:
            result = channel.send(message)
        except ChannelError as error:
            found = unanswered.ask_provider(channel, claimed, message, error)
            if found is unanswered.NO_ANSWER:  # looked up again later, never resent blindly
                return unanswered.unanswered_attempt(claimed, error, current())
            if found is None:
                return self._failed_attempt(claimed, error, current())
            result = DeliveryResult(provider_id=found.sid)
        except Exception as exc:  # a channel must raise ChannelError; retry rather than lose it
            log.exception("channel raised an unexpected error", extra={"delivery_id": claimed.id})
            unexpected = ChannelError(f"unexpected: {exc!r}", permanent=False)
            return self._failed_attempt(claimed, unexpected, current())
        now = current()
        state = DeliveryState.DELIVERED if result.state == "delivered" else DeliveryState.SENT
        values: dict[str, Any] = {
            "state": state,
            "provider_id": result.provider_id,
            "sent_at": now,
            "delivered_at": now if state == DeliveryState.DELIVERED else None,
            "late": now - claimed.due_at > LATE_AFTER,
            "error": None,
            "error_code": None,
        }
        return Attempt(claimed, str(state), now, values, provider_id=result.provider_id)

    def _failed_attempt(
        self, claimed: ClaimedDelivery, error: ChannelError, now: datetime
    ) -> Attempt:
        reason = error.reason[:500]
        values: dict[str, Any]
        if error.permanent:
            values = {"state": DeliveryState.FAILED, "error": reason, "error_code": error.code}
            return Attempt(claimed, "failed", now, values, error=error)
        retry_at = now + timedelta(seconds=self.backoff.delay(claimed.attempts, error.retry_after))
        if retry_at >= claimed.deadline:
            gave_up = f"gave up at the deadline after {claimed.attempts} attempts: {reason}"
            values = {
                "state": DeliveryState.FAILED,
                "error": gave_up[:500],
                "error_code": error.code,
            }
            return Attempt(claimed, "failed", now, values, error=error)
        values = {
            "state": DeliveryState.PENDING,
            "next_attempt_at": retry_at,
            "error": reason,
            "error_code": error.code,
            "claimed_by": None,
        }
        return Attempt(claimed, "retry", now, values, error=error)

    def released(self, claimed: ClaimedDelivery, now: datetime) -> Attempt:
        """A claim given back unsent (stopping while it waited for the rate limit)."""
        values = {
            "state": DeliveryState.PENDING,
            "claimed_by": None,
            "attempts": claimed.attempts - 1,
        }
        return Attempt(claimed, "released", now, values)

    def write_many(self, connection: Connection, attempts: list[Attempt]) -> None:
        """Record attempts in the caller's transaction, and log them."""
        self._finisher.finish_many(
            connection, [(a.claimed.id, a.claimed.claimed_by, a.at, a.values) for a in attempts]
        )
        for attempt in attempts:
            self._after_write(connection, attempt)

    def _after_write(self, connection: Connection, attempt: Attempt) -> None:
        claimed, error = attempt.claimed, attempt.error
        if attempt.outcome == "released":
            return
        context = {
            "delivery_id": claimed.id,
            "recipient": claimed.recipient_id,
            "channel": claimed.channel,
            "attempts": claimed.attempts,
        }
        if error is None:
            log.info("delivery sent", extra={**context, "provider_id": attempt.provider_id})
            return
        context["code"] = error.code
        if attempt.outcome in ("retry", "unanswered"):  # unanswered: looked up, not resent
            retry_at = attempt.values["next_attempt_at"].isoformat()
            log.info(
                "delivery %s at %s: %s", attempt.outcome, retry_at, error.reason, extra=context
            )
            return
        if error.permanent:
            self._learn(connection, claimed, error, attempt.at)
        log.warning("delivery failed: %s", attempt.values["error"], extra=context)

    def _learn(
        self, connection: Connection, claimed: ClaimedDelivery, error: ChannelError, now: datetime
    ) -> None:
        """What a permanent error tells about the contact, kept for every later notice: the
        same lesson a status callback with that code teaches (every account with the address)."""
        if error.flag is None:
            return
        with Session(bind=connection) as session:
            apply_contact_flag(
                session,
                channel=claimed.channel,
                address=claimed.address,
                flag=error.flag,
                actor="provider",
                reason=f"provider error {error.code}",
            )
            session.flush()
