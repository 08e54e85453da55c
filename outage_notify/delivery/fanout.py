"""One channel's share of a dispatch pass: a ledger thread and ``concurrency`` senders.

The senders only talk to the provider. The ledger thread (the one that runs ``FanOut.run``)
owns the database: in one transaction it writes the results the senders handed back and
claims as many deliveries as there are idle senders. One commit then serves many messages,
and no sender ever waits on the database lock while holding the GIL.

The in-flight window stays bounded by the concurrency: a sender holds at most one claimed
delivery, and its result is written in the same transaction that claims its next one.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy.engine import Connection

from outage_notify.delivery.attempts import Attempt, ClaimedDelivery, DispatchSummary
from outage_notify.delivery.ratelimit import TokenBucket

log = logging.getLogger(__name__)


class FanOut:
    """One channel's fan-out, given only what it needs: no Dispatcher, so no import circle.

    ``begin`` opens a transaction; ``claim(connection, now, k)`` claims up to ``k`` due
    deliveries (the ones to send, how many were skipped); ``record(connection, attempts)``
    writes results; ``attempt(claimed)`` renders and sends one; ``release(claimed)`` gives a
    claim back unsent; ``count(key)`` tallies ``"sms/sent"`` and the like.
    """

    def __init__(
        self,
        name: str,
        *,
        size: int,
        begin: Callable[[], AbstractContextManager[Connection]],
        claim: Callable[[Connection, datetime, int], tuple[list[ClaimedDelivery], int]],
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
        self.begin = begin
        self.claim = claim
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

    def run(self) -> None:
        senders = [
            threading.Thread(target=self._send, name=f"send-{self.name}-{i}", daemon=True)
            for i in range(self.size)
        ]
        for sender in senders:
            sender.start()
        try:
            self._lead()
        finally:
            for _ in senders:
                self.jobs.put(None)
            for sender in senders:
                sender.join()
            self._write(self._drain([]))  # anything handed back after the last round

    def _lead(self) -> None:
        idle, finished, dry = self.size, [], False
        while True:
            if idle == 0 or (dry and idle < self.size):
                finished.append(self.results.get())  # wait for a sender to come back
            finished = self._drain(finished)
            idle += len(finished)
            stopping = self.stop.is_set() or self.over_budget()
            if stopping and not self.stop.is_set():
                self.summary.more = True
            want = 0 if stopping else idle
            with self.begin() as connection:
                self.record(connection, finished)
                batch, skipped = self.claim(connection, self.current(), want)
            self._count(finished, skipped)
            finished = []
            for claimed in batch:
                self.jobs.put(claimed)
            idle -= len(batch)
            dry = want > 0 and not batch and not skipped
            if (dry or stopping) and idle == self.size:
                return

    def _drain(self, finished: list[Attempt]) -> list[Attempt]:
        while True:
            try:
                finished.append(self.results.get_nowait())
            except queue.Empty:
                return finished

    def _write(self, finished: list[Attempt]) -> None:
        if finished:
            with self.begin() as connection:
                self.record(connection, finished)
            self._count(finished, 0)

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
