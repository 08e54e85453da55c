"""The demo: the main job end to end on the bundled city, with no credentials and no services.

A fresh SQLite database, the file backends for SMS and email, the demo city imported, the demo
outages planned relative to now, then the real dispatcher driven by an injected clock through
every due time, with the planner's changes at scripted moments along the way: a reschedule, an
extension, a cancellation and a restoration.
"""

from __future__ import annotations

import csv
import secrets
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from outage_notify import migrations, registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.engine import build_engine
from outage_notify.delivery.outbox import next_due
from outage_notify.models import Delivery, Notice, Outage
from outage_notify.planning import areas, customers, outages
from outage_notify.planning.customer_import import import_customers
from outage_notify.planning.outage_import import import_outages
from outage_notify.publishing.export import ExportResult, export_site
from outage_notify.residents import optouts
from outage_notify.settings import Settings

# The demo city (config/demo/, made by its generate.py), beside the package in a checkout.
DEMO_DATA = Path(__file__).resolve().parents[1] / "config" / "demo"
ACTOR = "demo"
HORIZON = timedelta(days=10)  # nothing in the demo happens later than this

Say = Callable[[str], None]


def demo_settings(directory: Path, *, port: int = 8080) -> Settings:
    """Built-in defaults, with everything pointed into ``directory`` and no credentials.

    The file backends take as many messages a second as the disk does, so the caps go up.
    """
    return Settings.model_validate(
        {
            "database_url": f"sqlite:///{directory / 'outage-notify.db'}",
            "public_url": f"http://127.0.0.1:{port}",
            "sms": {
                "backend": "file",
                "file_path": str(directory / "outbox" / "sms.jsonl"),
                "max_per_second": 10_000.0,
            },
            "email": {
                "backend": "file",
                "file_dir": str(directory / "outbox" / "email"),
                "max_per_second": 10_000.0,
            },
            # Calls to landlines (and to those who ask) as TwiML files: nothing is dialled.
            "voice": {
                "backend": "file",
                "file_dir": str(directory / "outbox" / "voice"),
                "max_per_second": 10_000.0,
            },
            "web": {"port": port, "secret_key": secrets.token_urlsafe(32)},
            # The demo city's own utilities, as a deployment configures its own in [utility].
            "utility": {
                "water_name": "海港水务",
                "water_name_en": "Harbour City Water",
                "gas_name": "海港燃气",
                "gas_name_en": "Harbour City Gas",
                "water_sms_signature": "【海港水务】",
                "gas_sms_signature": "【海港燃气】",
            },
        }
    )


class SimulatedClock:
    """The demo's "now", moved by the simulation from one due time to the next."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Change:
    """A planner's change at a moment of the simulation."""

    ref: str
    what: str  # reschedule | extend | cancel | restore
    at: Callable[[Outage, ZoneInfo], datetime]
    done: bool = False


def _day_before_at_ten(outage: Outage, zone: ZoneInfo) -> datetime:
    local = outage.start_at.astimezone(zone) - timedelta(days=1)
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def _same_day_at_ten(outage: Outage, zone: ZoneInfo) -> datetime:
    return outage.start_at.astimezone(zone).replace(hour=10, minute=0, second=0, microsecond=0)


@dataclass
class DemoResult:
    directory: Path
    settings: Settings
    steps: int = 0
    simulated_until: datetime | None = None
    export: ExportResult | None = None
    sent: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # kind, channel, lang
    not_sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # state, reason


def prepare(directory: Path) -> Database:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = Database(f"sqlite:///{directory / 'outage-notify.db'}")
    migrations.upgrade(database)
    return database


def load_city(database: Database, settings: Settings, say: Say) -> None:
    """The demo city's areas, customers and the residents who opted out."""
    drafts = areas.read_areas(DEMO_DATA / "areas.geojson")
    with database.session() as session:
        areas.import_areas(session, drafts, actor=ACTOR)
    imported = import_customers(
        database, DEMO_DATA / "customers.csv", settings=settings, actor=ACTOR
    )
    opted = 0
    with (DEMO_DATA / "opt_outs.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with database.session() as session:
        for row in rows:
            customer = customers.find_customer(session, row["account_id"])
            address = getattr(customer, registry.spec(row["channel"]).contact)
            if address:  # as if the resident had replied STOP or unsubscribed
                opted += optouts.opt_out(
                    session,
                    channel=row["channel"],
                    address=address,
                    source=row["channel"],
                    actor=ACTOR,
                )
    say(
        f"Demo city Lanxi Bay: {len(drafts)} service areas, {imported.inserted:,} customers, "
        f"{opted} opt-outs."
    )


def shifted_outages(directory: Path, settings: Settings, now: datetime) -> Path:
    """config/demo/outages.csv with its times moved so the first work starts two days from
    now at 09:00 local (inside the banner's 72 hours when served), keeping the gaps."""
    with (DEMO_DATA / "outages.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    starts = [datetime.fromisoformat(r["start"]) for r in rows]
    first = (now.astimezone(settings.zone) + timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None
    )
    delta = first - min(starts)
    target = directory / "outages.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            for key in ("start", "end"):
                row[key] = (datetime.fromisoformat(row[key]) + delta).isoformat(timespec="minutes")
            writer.writerow(row)
    return target


def scripted_changes() -> list[Change]:
    """What the planners do while the notices go out."""
    return [
        # The gas work moves a day later, the morning before it was due.
        Change("WO-2026-0416", "reschedule", _day_before_at_ten),
        # The night flushing is called off on the morning of the day.
        Change("WO-2026-0417", "cancel", _same_day_at_ten),
        # The main replacement overruns by two hours, then water is back half an hour early.
        Change("WO-2026-0415", "extend", lambda o, _zone: o.start_at + timedelta(hours=3)),
        Change("WO-2026-0415", "restore", lambda o, _zone: o.end_at - timedelta(minutes=30)),
    ]


def _apply(database: Database, settings: Settings, change: Change, now: datetime) -> str:
    with database.session() as session:
        outage = session.exec(select(Outage).where(Outage.ref == change.ref)).one()
        assert outage.id is not None
        if change.what == "reschedule":
            day = timedelta(days=1)
            outages.reschedule(
                session,
                outage.id,
                start=outage.start_at + day,
                end=outage.end_at + day,
                settings=settings,
                now=now,
                actor=ACTOR,
            )
            return f"rescheduled {change.ref} a day later"
        if change.what == "cancel":
            outages.cancel(
                session,
                outage.id,
                settings=settings,
                now=now,
                actor=ACTOR,
                reason="crew reassigned to an emergency repair",
            )
            return f"cancelled {change.ref}"
        if change.what == "extend":
            outages.extend(
                session,
                outage.id,
                end=outage.end_at + timedelta(hours=2),
                settings=settings,
                now=now,
                actor=ACTOR,
            )
            return f"extended {change.ref} by two hours"
        outages.restore(session, outage.id, settings=settings, now=now, actor=ACTOR)
        return f"restored service for {change.ref}"


def _change_time(database: Database, change: Change, zone: ZoneInfo) -> datetime:
    with database.read() as session:
        outage = session.exec(select(Outage).where(Outage.ref == change.ref)).one()
        return change.at(outage, zone)


def simulate(
    database: Database, settings: Settings, dispatcher: Dispatcher, sim: SimulatedClock, say: Say
) -> tuple[int, datetime]:
    """Advance an injected clock from due time to due time until nothing is left to do."""
    changes = scripted_changes()
    start = clock = sim.now
    steps = 0
    while True:
        upcoming = next_due(database)
        pending = [c for c in changes if not c.done]
        when = {id(c): _change_time(database, c, settings.zone) for c in pending}
        candidates = [t for t in [upcoming, *when.values()] if t is not None]
        if not candidates or min(candidates) > start + HORIZON:
            return steps, clock
        clock = sim.now = max(clock, min(candidates))
        local = clock.astimezone(settings.zone).strftime("%a %d %b %H:%M")
        for change in pending:
            if when[id(change)] <= clock:
                change.done = True
                say(f"[{local}] planner: {_apply(database, settings, change, clock)}")
        summary = dispatcher.run_once(clock)
        steps += 1
        if summary.results or summary.expansion.notices:
            sent = sum(
                n for key, n in summary.results.items() if key.endswith(("sent", "delivered"))
            )
            extra = f", {summary.expansion.skipped} skipped" if summary.expansion.skipped else ""
            expired = summary.expansion.expired_notices + summary.expired
            extra += f", {expired} expired" if expired else ""
            due = summary.expansion.notices
            say(f"[{local}] {due} notice(s) falling due; {sent:,} messages sent{extra}")


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
    for kind, channel, language, state, error, count in rows:
        if state in ("sent", "delivered"):
            result.sent[(kind, channel, language)] += count
        else:
            result.not_sent[(state, error or "")] += count


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
            concurrency_of=dict.fromkeys(registry.CHANNELS, 4),
            rates_of=dict.fromkeys(registry.CHANNELS, 10_000.0),
        )
        result.steps, result.simulated_until = simulate(
            database, settings, engine.dispatcher, sim, say
        )
        engine.close()
        tally(database, result)
        result.export = export_site(settings, database, directory / "public", now=now)
    finally:
        database.dispose()
    return result
