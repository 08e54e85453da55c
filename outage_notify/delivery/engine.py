"""The delivery engine, wired in one place: channels, composer, rate limits, dispatcher.

The CLI (``dispatch``, ``run``), the daemon, the demo, the tests and the benchmarks all build
it here, from the settings and the channel registry, so they send the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from channels.base import PushChannel
from outage_notify import registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery.attempts import Backoff, Composer
from outage_notify.delivery.compose import NoticeComposer
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.ratelimit import TokenBucket, shared_bucket
from outage_notify.delivery.recovery import RecoverySummary, reconcile
from outage_notify.settings import Settings


def build_channels(settings: Settings) -> dict[str, PushChannel]:
    """The enabled channels; a disabled one is absent, so its deliveries are skipped."""
    return {
        name: spec.build(settings)
        for name, spec in registry.CHANNELS.items()
        if spec.enabled(settings)
    }


def concurrency(settings: Settings) -> dict[str, int]:
    return {name: spec.concurrency(settings) for name, spec in registry.CHANNELS.items()}


def rates(settings: Settings) -> dict[str, float]:
    return {name: spec.max_per_second(settings) for name, spec in registry.CHANNELS.items()}


def limiter(settings: Settings, channel: str) -> TokenBucket:
    """The process's token bucket for ``channel`` at its ``max_per_second``: notices and
    sign-up codes share it, so together they never go faster."""
    return shared_bucket(channel, registry.spec(channel).max_per_second(settings))


@dataclass
class Engine:
    database: Database
    channels: dict[str, PushChannel]
    composer: Composer
    dispatcher: Dispatcher

    @property
    def worker_id(self) -> str:
        return self.dispatcher.worker_id

    def reconcile(self, now: datetime) -> RecoverySummary:
        """Settle what a crashed process left ``sending`` (see delivery/recovery.py)."""
        return reconcile(self.database, self.channels, self.composer, now=now, me=self.worker_id)

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()


def build_engine(
    database: Database,
    settings: Settings | None = None,
    *,
    channels: Mapping[str, PushChannel] | None = None,
    composer: Composer | None = None,
    clock: Callable[[], datetime] = utcnow,
    concurrency_of: Mapping[str, int] | None = None,
    rates_of: Mapping[str, float] | None = None,
    worker_id: str | None = None,
    backoff: Backoff | None = None,
) -> Engine:
    """The engine the settings describe; every part can be given instead (tests, demo, bench).

    With ``settings``, channels and limits come from the registry and the rate limiters are
    the process's shared ones (unless ``rates_of`` overrides them); quiet hours and the zone
    come from ``[schedule]``. Without settings (tests): no quiet hours, UTC, and
    ``channels``, ``composer``, ``concurrency_of`` and ``rates_of`` must be given.
    """
    if settings is None:
        if channels is None or composer is None or concurrency_of is None or rates_of is None:
            raise ValueError("without settings, give channels, composer and their limits")
        built = dict(channels)
        dispatcher = Dispatcher(
            database,
            built,
            composer=composer,
            concurrency=concurrency_of,
            rates=rates_of,
            worker_id=worker_id,
            backoff=backoff,
            clock=clock,
        )
        return Engine(database, built, composer, dispatcher)
    built = dict(channels) if channels is not None else build_channels(settings)
    composer = composer or NoticeComposer(database, settings, clock=clock)
    buckets = None if rates_of is not None else {n: limiter(settings, n) for n in built}
    dispatcher = Dispatcher(
        database,
        built,
        composer=composer,
        concurrency={**concurrency(settings), **(concurrency_of or {})},
        rates={**rates(settings), **(rates_of or {})},
        buckets=buckets,
        worker_id=worker_id,
        backoff=backoff,
        clock=clock,
        quiet_hours=settings.schedule.quiet_hours,
        zone=settings.zone,
    )
    return Engine(database, built, composer, dispatcher)
