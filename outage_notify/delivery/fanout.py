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
from datetime import datetime
from typing import TYPE_CHECKING

from channels.base import PushChannel

if TYPE_CHECKING:
    from outage_notify.delivery.attempts import Attempt, ClaimedDelivery, DispatchSummary
    from outage_notify.delivery.dispatcher import Dispatcher

log = logging.getLogger(__name__)


class FanOut:
    def __init__(
        self,
        dispatcher: Dispatcher,
        name: str,
        channel: PushChannel,
        current: Callable[[], datetime],
        summary: DispatchSummary,
    ) -> None:
        self.dispatcher = dispatcher
        self.name = name
        self.channel = channel
        self.current = current
        self.summary = summary
        self.size = max(1, dispatcher.concurrency.get(name, 1))
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
        dispatcher, idle, finished, dry = self.dispatcher, self.size, [], False
        while True:
            if idle == 0 or (dry and idle < self.size):
                finished.append(self.results.get())  # wait for a sender to come back
            finished = self._drain(finished)
            idle += len(finished)
            stopping = dispatcher.stop.is_set() or dispatcher.over_budget()
            if stopping and not dispatcher.stop.is_set():
                self.summary.more = True
            want = 0 if stopping else idle
            with dispatcher.database.engine.begin() as connection:
                dispatcher.write_many(connection, finished)
                now = self.current()
                if want:
                    dispatcher.defer_for_quiet_hours(connection, self.name, now)
                batch, skipped = dispatcher.claim_batch(connection, self.name, now, want)
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
            with self.dispatcher.database.engine.begin() as connection:
                self.dispatcher.write_many(connection, finished)
            self._count(finished, 0)

    def _count(self, finished: list[Attempt], skipped: int) -> None:
        for attempt in finished:
            if attempt.outcome != "released":
                self.dispatcher.count(self.summary, f"{self.name}/{attempt.outcome}")
        for _ in range(skipped):
            self.dispatcher.count(self.summary, f"{self.name}/skipped")

    def _send(self) -> None:
        bucket = self.dispatcher.buckets[self.name]
        while True:
            claimed = self.jobs.get()
            if claimed is None:
                return
            try:
                if bucket.acquire(self.dispatcher.stop):
                    attempt = self.dispatcher.attempt(self.channel, claimed, self.current)
                else:  # stopping while waiting for the rate limit: give the claim back
                    attempt = self.dispatcher.released(claimed, self.current())
            except BaseException:  # never leave the ledger thread waiting for this result
                log.exception("sender failed", extra={"delivery_id": claimed.id})
                attempt = self.dispatcher.released(claimed, self.current())
            self.results.put(attempt)
