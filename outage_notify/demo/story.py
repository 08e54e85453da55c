"""The demo's story: the planners' changes and the residents' replies at scripted moments,
and the simulation that drives the real engine through every due time in between.

An injected clock jumps from one moment something is due (a notice, a retry, a ladder step,
a scripted change or reply) to the next; at each, the engine does what the daemon's tick
does: the critical-needs ladder climbs, then the dispatcher expands and sends what is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.engine import Engine
from outage_notify.delivery.escalation import next_step
from outage_notify.delivery.outbox import next_due
from outage_notify.demo.city import ACTOR, CREWS, Say
from outage_notify.models import Delivery, DeliveryState, Escalation, Outage
from outage_notify.planning import outages
from outage_notify.residents.inbound import handle_inbound
from outage_notify.settings import Settings

HORIZON = timedelta(days=10)  # nothing in the demo happens later than this
MAX_STEPS = 1_000  # a due time that never clears would otherwise loop for ever
# Half the critical-needs customers on a mobile (even ids) reply 1 this long after the notice.
REPLY_AFTER = timedelta(hours=1)


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


def _repliers(database: Database) -> list[tuple[str, datetime]]:
    """(phone, when they reply 1) of the critical customers who will and have not yet: those
    with an even id among the ones whose ladder's notice came by SMS (which asks for the 1)."""
    texted = (
        (col(Delivery.notice_id) == col(Escalation.notice_id))
        & (col(Delivery.customer_id) == col(Escalation.customer_id))
        & (col(Delivery.channel) == registry.SMS.name)
    )
    with database.read() as session:
        rows = session.exec(
            select(Delivery.address, Escalation.notified_at)
            .select_from(Escalation)
            .join(Delivery, texted)
            .where(
                Escalation.stage == "waiting",
                col(Escalation.customer_id) % 2 == 0,
                col(Delivery.state).in_([DeliveryState.SENT, DeliveryState.DELIVERED]),
            )
        ).all()
    return [(phone, notified + REPLY_AFTER) for phone, notified in rows]


def _replies(database: Database, settings: Settings, now: datetime) -> int:
    """The repliers whose time has come text "1", through the inbound SMS handling."""
    due = sorted({phone for phone, at in _repliers(database) if at <= now})
    with database.session() as session:
        for phone in due:
            handle_inbound(session, settings, sid=None, from_address=phone, body="1", now=now)
    return len(due)


def simulate(
    database: Database, settings: Settings, engine: Engine, sim: SimulatedClock, say: Say
) -> tuple[int, datetime]:
    """Advance an injected clock from due time to due time until nothing is left to do."""
    changes = scripted_changes()
    start = clock = sim.now
    steps = 0
    while True:
        pending = [c for c in changes if not c.done]
        when = {id(c): _change_time(database, c, settings.zone) for c in pending}
        replies = [at for _phone, at in _repliers(database)]
        moments = [next_due(database), next_step(database), *replies, *when.values()]
        candidates = [t for t in moments if t is not None]
        if not candidates or min(candidates) > start + HORIZON:
            return steps, clock
        if steps >= MAX_STEPS:
            raise RuntimeError(f"the demo did not settle after {steps} steps")
        clock = sim.now = max(clock, min(candidates))
        local = clock.astimezone(settings.zone).strftime("%a %d %b %H:%M")
        for change in pending:
            if when[id(change)] <= clock:
                change.done = True
                say(f"[{local}] planner: {_apply(database, settings, change, clock)}")
        replied = _replies(database, settings, clock)
        if replied:
            say(f"[{local}] {replied} critical-needs customer(s) replied 1: acknowledged")
        step = next_step(database)
        if step is not None and step <= clock:  # before the pass: a call queued goes in it
            _climb(engine, clock, local, say)
        summary = engine.dispatcher.run_once(clock)
        if summary.results:  # the ladders of those just notified open, as at the next tick
            _climb(engine, clock, local, say)
        steps += 1
        if summary.results or summary.expansion.notices:
            sent = sum(
                n for key, n in summary.results.items() if key.endswith(("sent", "delivered"))
            )
            calls = sum(
                n
                for key, n in summary.results.items()
                if key.startswith("voice/") and key.endswith(("sent", "delivered"))
            )
            extra = f" ({calls} of them calls)" if calls else ""
            extra += f", {summary.expansion.skipped} skipped" if summary.expansion.skipped else ""
            expired = summary.expansion.expired_notices + summary.expired
            extra += f", {expired} expired" if expired else ""
            due = summary.expansion.notices
            say(f"[{local}] {due} notice(s) falling due; {sent:,} messages sent{extra}")


def _climb(engine: Engine, clock: datetime, local: str, say: Say) -> None:
    ladder = engine.escalate(clock)
    if ladder is None:
        return
    if ladder.called:
        say(f"[{local}] critical-needs ladder: {ladder.called} not acknowledged in time, called")
    if ladder.listed:
        emailed = f", emailed to {CREWS}" if ladder.emailed else ""
        say(
            f"[{local}] critical-needs ladder: {ladder.listed} still not acknowledged, "
            f"on the crews' door-knock list{emailed}"
        )
