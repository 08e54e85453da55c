from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.delivery.daemon import Daemon
from outage_notify.errors import OutageNotifyError
from outage_notify.models import DaemonState, Delivery, Notice
from outage_notify.settings import Settings
from tests.engine import PlainComposer, ScriptedChannel
from tests.factories import T0, add_area, add_customers, add_notice, add_outage


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _daemon(settings: Settings, db: Database, clock: Clock, sms: ScriptedChannel) -> Daemon:
    return Daemon(
        settings,
        db,
        channels={"sms": sms},
        composer=PlainComposer(),
        clock=clock,
        rates={"sms": 10_000.0},
    )


def _plan(db: Database, *, due: datetime, start: datetime) -> int:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 3, email=None)
        notice = add_notice(session, add_outage(session, start=start), due=due)
        assert notice.id is not None
        return notice.id


def test_a_second_daemon_on_one_sqlite_database_is_refused(
    settings: Settings, sqlite_db: Database
) -> None:
    first = _daemon(settings, sqlite_db, Clock(T0), ScriptedChannel())
    assert first.lock.try_acquire()
    second = _daemon(settings, sqlite_db, Clock(T0), ScriptedChannel())
    with pytest.raises(OutageNotifyError, match="already the scheduler") as info:
        second.start()
    assert "only one may run per SQLite database" in str(info.value)
    first.lock.release()
    assert second.lock.try_acquire()  # free again once the first is gone
    second.lock.release()


def test_down_across_a_due_time_the_notice_goes_once_and_late(
    settings: Settings, db: Database
) -> None:
    notice_id = _plan(db, due=T0, start=T0 + timedelta(hours=6))
    clock = Clock(T0 + timedelta(hours=3))  # restarted three hours after the due time
    sms = ScriptedChannel()
    daemon = _daemon(settings, db, clock, sms)
    daemon.is_scheduler = daemon.lock.try_acquire()
    daemon.tick()
    daemon.tick()
    daemon.lock.release()
    assert len(sms.sent) == 3
    with db.read() as session:
        notice = session.get(Notice, notice_id)
        rows = session.exec(select(Delivery)).all()
    assert notice is not None
    assert notice.late
    assert {(r.state, r.late) for r in rows} == {("sent", True)}


def test_down_past_the_work_start_the_notice_expires_unsent(
    settings: Settings, db: Database
) -> None:
    notice_id = _plan(db, due=T0, start=T0 + timedelta(hours=2))
    sms = ScriptedChannel()
    daemon = _daemon(settings, db, Clock(T0 + timedelta(hours=3)), sms)
    daemon.is_scheduler = daemon.lock.try_acquire()
    daemon.tick()
    daemon.lock.release()
    assert sms.attempts == []
    with db.read() as session:
        notice = session.get(Notice, notice_id)
    assert notice is not None
    assert notice.state == "expired"


def test_tick_writes_the_heartbeat_and_schedules_the_next_wake(
    settings: Settings, db: Database
) -> None:
    _plan(db, due=T0 + timedelta(hours=1), start=T0 + timedelta(hours=6))
    daemon = _daemon(settings, db, Clock(T0), ScriptedChannel())
    daemon.is_scheduler = daemon.lock.try_acquire()
    daemon.tick()
    daemon.lock.release()
    with db.read() as session:
        state = session.get(DaemonState, "scheduler")
    assert state is not None
    assert (state.last_tick_at, state.next_wake_at) == (T0, T0 + timedelta(hours=1))
    job = daemon._scheduler.get_job("wake")
    assert job is not None
    assert job.trigger.run_date == T0 + timedelta(hours=1)


def test_a_process_that_is_not_the_scheduler_still_sends(
    settings: Settings, postgres_url: str
) -> None:
    db = Database(postgres_url)
    _plan(db, due=T0, start=T0 + timedelta(hours=6))
    clock = Clock(T0)
    elected = _daemon(settings, db, clock, ScriptedChannel())
    other_sms = ScriptedChannel()
    other = _daemon(settings, db, clock, other_sms)
    assert elected.lock.try_acquire()
    assert not other.lock.try_acquire()  # one scheduler per database
    elected.is_scheduler = True
    other.tick()  # not elected: does not expand
    assert other_sms.attempts == []
    elected.dispatcher.run_once(T0, budget=0)  # expansion only: the budget stops sending
    other.tick()
    assert len(other_sms.sent) == 3
    elected.lock.release()
    assert other.lock.try_acquire()  # the scheduler died: another takes over
    other.lock.release()
    db.dispose()
