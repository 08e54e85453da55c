"""One demo run: the city, the planned outages, the simulation, the tally and the export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col

from outage_notify import registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery.engine import build_engine
from outage_notify.demo.city import ACTOR, Say, demo_settings, load_city, prepare, shifted_outages
from outage_notify.demo.story import SimulatedClock, simulate
from outage_notify.models import Delivery, EscalationEvent, Notice
from outage_notify.planning.outage_import import import_outages
from outage_notify.publishing.export import ExportResult, export_site
from outage_notify.settings import Settings

# Senders a channel. The file backends answer at once, so more only shift work between
# threads: 12 cut the ledger's transactions by half and were no faster on 2 cores.
SENDERS = 4


@dataclass
class DemoResult:
    directory: Path
    settings: Settings
    steps: int = 0
    simulated_until: datetime | None = None
    export: ExportResult | None = None
    sent: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # kind, channel, lang
    not_sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # state, reason
    ladder: Counter[str] = field(default_factory=Counter)  # escalation step: how many


def served_clock(result: DemoResult) -> Callable[[], datetime]:
    """The clock ``demo --serve`` serves with: stopped at the demo's simulated end, so the
    pages, feeds and banner show what the story left behind."""
    end = result.simulated_until or utcnow()
    return lambda: end


def tally(database: Database, result: DemoResult) -> None:
    columns: list[Any] = [
        col(Notice.kind),
        col(Delivery.channel),
        col(Delivery.language),
        col(Delivery.state),
        col(Delivery.error),
    ]
    with database.read() as session:
        rows = session.execute(
            sa_select(*columns, func.count())
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .group_by(*columns)
        ).all()
        steps = session.execute(
            sa_select(col(EscalationEvent.step), func.count()).group_by(col(EscalationEvent.step))
        ).all()
    for kind, channel, language, state, error, count in rows:
        if state in ("sent", "delivered"):
            result.sent[(kind, channel, language)] += count
        else:
            result.not_sent[(state, error or "")] += count
    result.ladder.update({str(step): count for step, count in steps})


def run_demo(
    directory: Path, *, say: Say, port: int = 8080, now: datetime | None = None
) -> DemoResult:
    now = now or utcnow()
    settings = demo_settings(directory, port=port)
    database = prepare(directory)
    result = DemoResult(directory=directory, settings=settings)
    try:
        load_city(database, settings, say)
        planned = shifted_outages(directory, settings, now)
        with database.session() as session:
            actions = import_outages(session, planned, settings=settings, now=now, actor=ACTOR)
        say(f"Planned {len(actions)} outages from {planned.name} (moved to start from 2 days on).")
        sim = SimulatedClock(now)
        # As fast as the files take them: the demo's simulated hours are not rate limited.
        engine = build_engine(
            database,
            settings,
            clock=sim,
            concurrency_of=dict.fromkeys(registry.CHANNELS, SENDERS),
            rates_of=dict.fromkeys(registry.CHANNELS, 10_000.0),
        )
        try:
            result.steps, result.simulated_until = simulate(database, settings, engine, sim, say)
        finally:
            engine.close()
        tally(database, result)
        # The published files as of the story's end, as `demo --serve` serves them.
        result.export = export_site(
            settings, database, directory / "public", now=result.simulated_until
        )
    finally:
        database.dispose()
    return result
