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
        self.jobs: queue.SimpleQueue[ClaimedDelivery | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self.reserved: deque[ClaimedDelivery] = deque()
        self._handed = 0  # deliveries given to senders in this pass, for the batch size
        self._began = time.monotonic()

    def run(self) -> None:
        senders = [
            threading.Thread(target=self._send, name=f"send-{self.name}-{i}", daemon=True)
            for i in range(self.size)
        ]
        for sender in senders:
            sender.start()
        try:
            with self.connect() as connection:
                self._lead(connection)
        finally:
            for _ in senders:
                self.jobs.put(None)
            for sender in senders:
                sender.join()
            # Anything handed back after the last round, and the reservations left unsent.
            finished = self._drain([])
            if finished or self.reserved:
                with self.connect() as connection, connection.begin():
                    self.record(connection, finished)
                    self.give_back(connection, [c.id for c in self.reserved], self.current())
                self.reserved.clear()
                self._count(finished, 0)

    def batch_size(self) -> int:
        """How many to reserve: about ``RESERVE_SECONDS`` of sends at the pace the senders
        keep (at most the rate cap), and never fewer than two rounds for every sender."""
        elapsed = time.monotonic() - self._began
        pace = min(self._handed / elapsed if elapsed > 0 else 0.0, 1.0 / self.bucket.interval)
        return max(2 * self.size, min(MAX_RESERVE, math.ceil(pace * RESERVE_SECONDS)))

    def _lead(self, connection: Connection) -> None:
        idle, finished, dry = self.size, [], False
        while True:
            stopping = self.stop.is_set() or self.over_budget()
            nothing_to_hand = stopping or (dry and not self.reserved)
            if idle == 0 or (nothing_to_hand and idle < self.size):
                finished.append(self.results.get())  # wait for a sender to come back
            finished = self._drain(finished)
            idle += len(finished)
            if stopping and not self.stop.is_set():
                self.summary.more = True
            batch: list[ClaimedDelivery] = []
            skipped = 0
            with connection.begin():
                self.record(connection, finished)
                if not stopping:
                    now = self.current()
                    if len(self.reserved) < idle + self.size:
                        got = self.reserve(connection, now, self.batch_size() - len(self.reserved))
                        self.reserved.extend(got)
                        dry = not got
                    while len(batch) < idle and self.reserved:
                        n = min(idle - len(batch), len(self.reserved))
                        wanted = [self.reserved.popleft() for _ in range(n)]
                        send, skip = self.promote(connection, now, wanted)
                        batch += send
                        skipped += skip
            self._count(finished, skipped)
            finished = []
            for claimed in batch:
                self.jobs.put(claimed)
            idle -= len(batch)
            self._handed += len(batch)
            if idle == self.size and (stopping or (dry and not self.reserved)):
                return

    def _drain(self, finished: list[Attempt]) -> list[Attempt]:
        while True:
            try:
                finished.append(self.results.get_nowait())
            except queue.Empty:
                return finished

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
            self.results.put(attempt)
