"""``outage-notify run``: the scheduler, the dispatcher and the web app in one process.

APScheduler only wakes the dispatcher: an interval job every ``schedule.tick_seconds`` and a
one-off job at the next due time. Nothing about a notice lives in a job; the database is the
only source of truth, so a restart loses nothing. A third job polls the upstream sources that
are due (planning.sources), in the scheduler's own thread, so a slow feed never holds up sends.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from channels.base import PushChannel
from outage_notify.db import Database, utcnow
from outage_notify.delivery.attempts import Composer, new_worker_id
from outage_notify.delivery.engine import build_engine
from outage_notify.delivery.outbox import next_due
from outage_notify.delivery.scheduler_lock import FileLock, holder_name, scheduler_lock
from outage_notify.errors import OutageNotifyError
from outage_notify.models import DaemonState
from outage_notify.planning.sources.poll import poll_due
from outage_notify.settings import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0  # SIGTERM to exit: in-flight sends finish or are left for recovery


class Daemon:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        channels: Mapping[str, PushChannel] | None = None,
        composer: Composer | None = None,
        clock: Callable[[], datetime] = utcnow,
        concurrency: Mapping[str, int] | None = None,
        rates: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.tick_seconds = settings.schedule.tick_seconds
        self.worker_id = new_worker_id()
        self.engine = build_engine(
            database,
            settings,
            channels=channels,
            composer=composer,
            clock=clock,
            concurrency_of=concurrency,
            rates_of=rates,
            worker_id=self.worker_id,
        )
        self.dispatcher = self.engine.dispatcher
        self.channels = self.engine.channels
        self.composer = self.engine.composer
        self.lock = scheduler_lock(database)
        self.is_scheduler = False
        self.last_tick: datetime | None = None
        self.ticks = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._scheduler = BackgroundScheduler(timezone=UTC)

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.is_scheduler = self.lock.try_acquire()
        if not self.is_scheduler and isinstance(self.lock, FileLock):
            raise OutageNotifyError(
                f"another `outage-notify run` ({self.lock.holder()}) is already the scheduler "
                f"for {self.database.sqlite_path}; only one may run per SQLite database "
                "(use PostgreSQL to run several)"
            )
        if self.is_scheduler:
            self._reconcile()
        self._scheduler.add_job(
            self.wake,
            "interval",
            seconds=self.tick_seconds,
            id="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.add_job(
            self.poll_sources,
            "interval",
            seconds=self.tick_seconds,
            id="sources",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()
        log.info("daemon started", extra={"scheduler": self.is_scheduler, "worker": self.worker_id})

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop claiming, let in-flight sends finish; True when all finished in time."""
        self._stopping.set()
        self.dispatcher.stop.set()
        self._wake.set()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.lock.release()
        self.engine.close()
        log.info("daemon stopped", extra={"clean": finished})
        return finished

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.tick_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.tick()
            except Exception:  # keep the daemon alive; the next tick tries again
                log.exception("tick failed")

    # -- one tick -------------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        if not self.is_scheduler:
            self.is_scheduler = self.lock.try_acquire()
            if self.is_scheduler:
                log.info("elected scheduler", extra={"worker": self.worker_id})
                self._reconcile()
        elif not self.lock.still_held():
            self.is_scheduler = False
            log.warning("lost the scheduler lock", extra={"worker": self.worker_id})
        if self.is_scheduler:
            self._reconcile()
        summary = self.dispatcher.run_once(expand=self.is_scheduler, budget=self.tick_seconds)
        self.last_tick, self.ticks = now, self.ticks + 1
        upcoming = next_due(self.database)
        if self.is_scheduler:
            self._heartbeat(now, upcoming)
        if summary.more:
            self._wake.set()
        elif upcoming is not None and upcoming > self.clock():
            self._scheduler.add_job(
                self.wake,
                "date",
                run_date=upcoming,
                id="wake",
                replace_existing=True,
                misfire_grace_time=None,
            )
        if summary.results or summary.expansion.notices:
            log.info("tick", extra=summary.as_dict())

    def poll_sources(self) -> None:
        """Poll the sources that are due; each is claimed, so several daemons poll it once."""
        try:
            poll_due(self.database, self.settings, now=self.clock())
        except Exception:  # the database is away: the next interval tries again
            log.exception("polling sources failed")

    def _reconcile(self) -> None:
        self.engine.reconcile(self.clock())

    def _heartbeat(self, now: datetime, upcoming: datetime | None) -> None:
        with self.database.session() as session:
            _save_state(session, holder_name(), now, upcoming)

    # -- the whole process ----------------------------------------------------------------

    def run_forever(self, web_app: Any | None = None, *, host: str = "", port: int = 0) -> None:
        """Run until SIGTERM or SIGINT; with a web app, serve it in this process too."""
        stop_requested = threading.Event()

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
            stop_requested.set()

        # Our handlers first: uvicorn restores and re-raises them after its own shutdown.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, request_stop)
        self.start()
        try:
            if web_app is not None:
                import uvicorn

                # X-Forwarded-* are believed only from web.trusted_proxies, by the app.
                config = uvicorn.Config(
                    web_app, host=host, port=port, log_config=None, proxy_headers=False
                )
                uvicorn.Server(config).run()
            else:
                stop_requested.wait()
        finally:
            self.stop()


def _save_state(session: Session, holder: str, now: datetime, upcoming: datetime | None) -> None:
    state = session.get(DaemonState, "scheduler") or DaemonState(name="scheduler")
    state.holder = holder
    state.last_tick_at = now
    state.next_wake_at = upcoming
    state.updated_at = now
    session.add(state)
