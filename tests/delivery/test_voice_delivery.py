"""Calls through the delivery engine: who is called, quiet hours, the ladder at daemon ticks."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from channels.base import Message
from outage_notify.db import Database
from outage_notify.delivery.compose import NoticeComposer
from outage_notify.delivery.daemon import Daemon
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.outbox import expand_due
from outage_notify.models import Delivery, DeliveryState, Escalation
from outage_notify.settings import Settings
from tests.engine import PlainComposer, ScriptedChannel
from tests.factories import T0, add_area, add_customer, add_notice, add_outage

ZONE = ZoneInfo("Asia/Shanghai")
QUIET = (time(21, 0), time(8, 0))
LANDLINE = "+862088776655"


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=ZONE)


def _customers(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customer(session, "L1", phone=LANDLINE, landline=True, water_area="W1")
        add_customer(session, "V1", phone="+8613800000002", channels="voice", water_area="W1")
        add_customer(session, "M1", phone="+8613800000003", water_area="W1")
        add_customer(session, "B1", phone="+8613800000004", channels="sms;voice", water_area="W1")


def _rows(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


def test_calls_go_to_landlines_and_to_those_who_ask_at_the_quiet_hours_time(
    db: Database,
) -> None:
    _customers(db)
    due, sms_due = local(1, 22), local(1, 20)  # the timeline moved the SMS out of the night
    with db.session() as session:
        add_notice(
            session, add_outage(session, start=T0 + timedelta(days=3)), due=due, sms_due=sms_due
        )
    expand_due(db, sms_due)
    by_customer = {(r.customer_id, r.channel): r.next_attempt_at for r in _rows(db)}
    assert by_customer == {
        (1, "voice"): sms_due,  # the landline: a call instead of an SMS
        (2, "voice"): sms_due,
        (3, "sms"): sms_due,
        (4, "sms"): sms_due,
        (4, "voice"): sms_due,
    }


def _pending_call(db: Database, *, deadline: datetime) -> None:
    with db.session() as session:
        add_area(session, "W1")
        customer = add_customer(session, "L1", phone=LANDLINE, landline=True, water_area="W1")
        outage = add_outage(session, start=deadline)
        notice = add_notice(session, outage, due=local(1, 20))
        session.add(
            Delivery(
                notice_id=notice.id or 0,
                channel="voice",
                address=LANDLINE,
                customer_id=customer.id,
                language="zh-CN",
                next_attempt_at=local(1, 20),
                deadline=deadline,
            )
        )


def _dispatcher(db: Database, voice: ScriptedChannel) -> Dispatcher:
    return Dispatcher(
        db,
        {"voice": voice},
        composer=PlainComposer(),
        concurrency={"voice": 1},
        rates={"voice": 100.0},
        quiet_hours=QUIET,
        zone=ZONE,
    )


def test_no_call_in_the_quiet_hours_when_it_can_wait_for_the_morning(db: Database) -> None:
    _pending_call(db, deadline=local(2, 14))
    voice = ScriptedChannel()
    _dispatcher(db, voice).run_once(local(1, 23))
    assert voice.sent == []
    [row] = _rows(db)
    assert (row.state, row.next_attempt_at) == (DeliveryState.PENDING, local(2, 8))
    _dispatcher(db, voice).run_once(local(2, 8))
    assert [m.address for m in voice.sent] == [LANDLINE]


def test_an_urgent_call_goes_in_the_quiet_hours(db: Database) -> None:
    _pending_call(db, deadline=local(2, 6))  # the work starts before the quiet hours end
    voice = ScriptedChannel()
    _dispatcher(db, voice).run_once(local(1, 23))
    assert [m.address for m in voice.sent] == [LANDLINE]


def test_a_critical_customers_sms_asks_for_a_reply_and_a_call_for_a_key(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customer(session, "C1", phone="+8613800000001", water_area="W1", critical=True)
        add_customer(session, "M1", phone="+8613800000003", water_area="W1", language="en")
        add_customer(session, "L1", phone=LANDLINE, landline=True, water_area="W1")
        add_notice(session, add_outage(session, start=T0 + timedelta(days=2)), due=T0)
    sms, voice = ScriptedChannel(), ScriptedChannel()
    Dispatcher(
        db,
        {"sms": sms, "voice": voice},
        composer=NoticeComposer(db, settings),
        concurrency={"sms": 1, "voice": 1},
        rates={"sms": 100.0, "voice": 100.0},
    ).run_once(T0)
    texts: dict[str, Message] = {m.recipient_id: m for m in sms.sent + voice.sent}
    assert texts["customer:1"].text.endswith("收到请回复1。")
    assert "Reply 1" not in texts["customer:2"].text
    assert "确认收到请按1" in texts["customer:3"].text


def test_the_daemon_climbs_the_ladder_at_its_ticks(settings: Settings, db: Database) -> None:
    """Notice at T0; no acknowledgement: the call at 4 h and the door-knock list at 6 h."""
    with db.session() as session:
        add_area(session, "W1")
        add_customer(session, "C1", phone=LANDLINE, landline=True, water_area="W1", critical=True)
        add_notice(session, add_outage(session, start=T0 + timedelta(days=2)), due=T0)
    clock = [T0]
    voice = ScriptedChannel()
    daemon = Daemon(
        settings,
        db,
        channels={"voice": voice},
        composer=PlainComposer(),
        clock=lambda: clock[0],
        rates={"voice": 10_000.0},
    )
    assert daemon.lock.try_acquire()
    daemon.is_scheduler = True
    stages = []
    for hours in (0, 0.1, 3.9, 4, 6):
        clock[0] = T0 + timedelta(hours=hours)
        daemon.tick()
        with db.read() as session:
            row = session.exec(select(Escalation)).first()
        stages.append(row.stage if row else None)
    daemon.lock.release()
    # The notice itself was a call (a landline), so the ladder's call is that one.
    assert stages == [None, "waiting", "waiting", "calling", "door_knock"]
    assert len(voice.sent) == 1
