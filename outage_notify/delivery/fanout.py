"""One channel's share of a dispatch pass: a ledger thread and ``concurrency`` senders.

The senders only talk to the provider. The ledger thread (the one that runs ``FanOut.run``)
owns the database, on one connection held for the pass. It reserves due deliveries in
batches sized to what the senders get through (about a second of sends, at most the rate
cap's worth; see ``reservations``) and keeps them in a local queue. Each round, one
transaction writes every result the senders handed back since the last (group commit) and
marks as many reserved deliveries ``sending`` as there are idle senders. One commit then
serves many messages, and no sender ever waits on the database lock while holding the GIL.

The in-flight window stays bounded by the concurrency: a sender holds at most one delivery
marked ``sending``, and its result is written in the same transaction that marks its next.
A reserved delivery is not in flight: it is pending, and given back when the pass ends.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy.engine import Connection

from outage_notify.delivery.attempts import Attempt, ClaimedDelivery, DispatchSummary
from outage_notify.delivery.ratelimit import TokenBucket

log = logging.getLogger(__name__)

# A reservation holds about this many seconds of sends at the pace the senders keep (at
# most the rate cap): enough that the reserving query's cost is shared by many messages, few
# enough that another process is not left idle at the end of a fan-out while this one
# still holds work, and that a change of plan finds little already reserved.
RESERVE_SECONDS = 1.0
MAX_RESERVE = 500


def batch_size(senders: int, handed: int, elapsed: float, cap: float) -> int:
    """How many to reserve: about ``RESERVE_SECONDS`` of sends at the pace the senders have
    kept so far (``handed`` in ``elapsed`` seconds), at most the rate cap's; never fewer than
    two rounds for every sender, never more than ``MAX_RESERVE``."""
    pace = min(handed / elapsed if elapsed > 0 else 0.0, cap)
    return max(2 * senders, min(MAX_RESERVE, math.ceil(pace * RESERVE_SECONDS)))


class FanOut:
    """One channel's fan-out, given only what it needs: no Dispatcher, so no import circle.

    ``connect`` opens the ledger's connection; ``reserve(connection, now, k)`` reserves up to
    ``k`` due deliveries; ``promote(connection, now, reserved)`` marks them ``sending`` (the
    ones to send, how many were skipped); ``give_back(connection, ids, now)`` releases
    reservations; ``record(connection, attempts)`` writes results; ``attempt(claimed)``
    renders and sends one; ``release(claimed)`` is the attempt of a delivery marked
    ``sending`` but never sent; ``count(key)`` tallies ``"sms/sent"`` and the like.
    """

    def __init__(
        self,
        name: str,
        *,
        size: int,
        connect: Callable[[], AbstractContextManager[Connection]],
        reserve: Callable[[Connection, datetime, int], list[ClaimedDelivery]],
        promote: Callable[
            [Connection, datetime, list[ClaimedDelivery]], tuple[list[ClaimedDelivery], int]
        ],
        give_back: Callable[[Connection, list[int], datetime], None],
        record: Callable[[Connection, list[Attempt]], None],
        attempt: Callable[[ClaimedDelivery], Attempt],
        release: Callable[[ClaimedDelivery], Attempt],
        count: Callable[[str], None],
        bucket: TokenBucket,
        stop: threading.Event,
        over_budget: Callable[[], bool],
        current: Callable[[], datetime],
        summary: DispatchSummary,
        lanes: int = 1,
    ) -> None:
        self.name = name
        self.size = max(1, size)
        self.connect = connect
        self.reserve = reserve
        self.promote = promote
        self.give_back = give_back
        self.record = record
        self.attempt = attempt
        self.release = release
        self.count = count
        self.bucket = bucket
        self.stop = stop
        self.over_budget = over_budget
        self.current = current
        self.summary = summary
        self.lanes = max(1, lanes)
        self.jobs: queue.SimpleQueue[ClaimedDelivery | None] = queue.SimpleQueue()
        # Shared by the lanes, under `_lock`: results handed back, reserved deliveries, how
        # many senders hold nothing marked sending (`free`) and how many hold one.
        self._lock = threading.Condition()
        self._finished: list[Attempt] = []
        self.reserved: deque[ClaimedDelivery] = deque()
        self._free = self.size
        self._out = 0
        self._dry = False  # the last reservation found nothing more to do
        self._reserving = False
        self._busy = 0  # lanes in a round
        self._ended = False
        self._error: BaseException | None = None
        self._handed = 0  # deliveries given to senders in this pass, for the batch size
        self._began = time.monotonic()

    def run(self) -> None:
        senders = [
            threading.Thread(target=self._send, name=f"send-{self.name}-{i}", daemon=True)
            for i in range(self.size)
        ]
        lanes = [
            threading.Thread(target=self._other_lane, name=f"ledger-{self.name}-{i}", daemon=True)
            for i in range(1, self.lanes)
        ]
        for thread in [*senders, *lanes]:
            thread.start()
        try:
            self._lane()
        finally:
            with self._lock:
                self._ended = True  # the other lanes stop marking, whatever ended this one
                self._lock.notify_all()
            for lane in lanes:
                lane.join()
            error = self._error
            for _ in senders:
                self.jobs.put(None)
            for sender in senders:
                sender.join()
            # Anything handed back after the last round, and the reservations left unsent.
            with self._lock:
                finished, self._finished = self._finished, []
            if finished or self.reserved:
                with self.connect() as connection, connection.begin():
                    self.record(connection, finished)
                    self.give_back(connection, [c.id for c in self.reserved], self.current())
                self.reserved.clear()
                self._count(finished, 0)
        if error is not None:
            raise error  # a bug in another lane surfaces here, as one in this lane does

    def _other_lane(self) -> None:
        try:
            self._lane()
        except BaseException as exc:
            with self._lock:
                self._error = exc
                self._ended = True
                self._lock.notify_all()

    def batch_size(self) -> int:
        return batch_size(
            self.size, self._handed, time.monotonic() - self._began, 1.0 / self.bucket.interval
        )

    def _stopping(self) -> bool:
        stopping = self.stop.is_set() or self.over_budget()
        if stopping and not self.stop.is_set():
            self.summary.more = True
        return stopping or self._ended

    def _next_round(self) -> tuple[list[Attempt], int, bool] | None:
        """Wait until this lane has something to do: the results to write, how many
        deliveries it may mark sending (a result written frees its sender), whether to
        reserve more; None when the fan-out is over."""
        with self._lock:
            while True:
                stopping = self._stopping()
                nothing_to_hand = stopping or (self._dry and not self.reserved)
                if self._finished or (self._free and not nothing_to_hand and not self._busy):
                    break
                if nothing_to_hand and self._out == 0 and not self._busy:
                    self._lock.notify_all()  # the other lanes see it too
                    return None
                # A timeout as well: `stop` and the budget do not notify.
                self._lock.wait(0.5)
            finished, self._finished = self._finished, []
            self._out -= len(finished)
            self._free += len(finished)
            slots = 0 if stopping else self._free
            self._free -= slots
            reserve = (
                not stopping and not self._reserving and len(self.reserved) < slots + self.size
            )
            self._reserving = self._reserving or reserve
            self._busy += 1
            return finished, slots, reserve

    def _lane(self) -> None:
        with self.connect() as connection:
            while (work := self._next_round()) is not None:
                finished, slots, reserve = work
                batch: list[ClaimedDelivery] = []
                skipped = 0
                # Reserved in this round's transaction: no other lane may take them before
                # it commits (their marking would not see the reservation yet).
                got: deque[ClaimedDelivery] = deque()
                found = 0
                taken: list[ClaimedDelivery] = []
                committed = False
                try:
                    with connection.begin():
                        self.record(connection, finished)
                        now = self.current()
                        if reserve:
                            k = self.batch_size() - len(self.reserved)
                            got.extend(self.reserve(connection, now, k))
                            found = len(got)
                        while len(batch) < slots and (
                            wanted := self._take(slots - len(batch), got)
                        ):
                            taken = wanted
                            send, skip = self.promote(connection, now, wanted)
                            taken = []
                            batch += send
                            skipped += skip
                    committed = True
                finally:
                    with self._lock:
                        if committed:
                            self.reserved.extend(got)
                        # What a failed marking had taken, for the final give_back.
                        self.reserved.extendleft(reversed(taken))
                        if reserve:
                            self._reserving = False
                            self._dry = committed and not found
                        self._free += slots - len(batch)
                        self._out += len(batch)
                        self._handed += len(batch)
                        self._busy -= 1
                        self._lock.notify_all()
                self._count(finished, skipped)
                for claimed in batch:
                    self.jobs.put(claimed)

    def _take(self, n: int, got: deque[ClaimedDelivery]) -> list[ClaimedDelivery]:
        """Up to ``n`` reserved deliveries, the oldest (the shared queue's) first."""
        with self._lock:
            wanted = [self.reserved.popleft() for _ in range(min(n, len(self.reserved)))]
        while len(wanted) < n and got:
            wanted.append(got.popleft())
        return wanted

    def _count(self, finished: list[Attempt], skipped: int) -> None:
        for attempt in finished:
            if attempt.outcome != "released":
                self.count(f"{self.name}/{attempt.outcome}")
        for _ in range(skipped):
            self.count(f"{self.name}/skipped")

    def _send(self) -> None:
        while True:
            claimed = self.jobs.get()
            if claimed is None:
                return
            try:
                if self.bucket.acquire(self.stop):
                    attempt = self.attempt(claimed)
                else:  # stopping while waiting for the rate limit: give the claim back
                    attempt = self.release(claimed)
            except BaseException:  # never leave the ledger thread waiting for this result
                log.exception("sender failed", extra={"delivery_id": claimed.id})
                attempt = self.release(claimed)
            with self._lock:
                self._finished.append(attempt)
                self._lock.notify_all()
