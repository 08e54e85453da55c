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
from outage_notify.delivery.dispatch_email import dispatch_sender
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.escalation import Ladder, LadderSummary
from outage_notify.delivery.ratelimit import TokenBucket, shared_bucket
from outage_notify.delivery.recovery import RecoverySummary, reconcile
from outage_notify.settings import Settings


def enabled_channels(settings: Settings) -> frozenset[str]:
    """The channels the settings enable; the others' deliveries are recorded skipped."""
    return frozenset(name for name, spec in registry.CHANNELS.items() if spec.enabled(settings))


def build_channels(settings: Settings) -> dict[str, PushChannel]:
    """The enabled channels; a disabled one is absent, so its deliveries are skipped."""
    enabled = enabled_channels(settings)
    return {
        name: spec.build(settings) for name, spec in registry.CHANNELS.items() if name in enabled
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
    ladder: Ladder | None = None  # the critical-needs escalation (with settings only)

    @property
    def worker_id(self) -> str:
        return self.dispatcher.worker_id

    def escalate(self, now: datetime) -> LadderSummary | None:
        """Climb the critical-needs ladders whose next step is due at ``now``."""
        return self.ladder.run(now) if self.ladder is not None else None

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
    return Engine(database, built, composer, dispatcher, build_ladder(database, settings, built))


def build_ladder(
    database: Database, settings: Settings, channels: Mapping[str, PushChannel]
) -> Ladder:
    """Calls go by the voice channel when it is enabled; the list is emailed when
    ``critical.dispatch_email`` is set."""
    address = settings.critical.dispatch_email
    sender = (
        dispatch_sender(
            database,
            address=address,
            zone=settings.zone,
            channel=lambda: registry.EMAIL.build(settings, status_callbacks=False),
        )
        if address
        else None
    )
    return Ladder(
        database,
        settings.critical,
        call_channel=registry.VOICE.name,
        call_enabled=registry.VOICE.name in channels,
        send_dispatch=sender,
    )
