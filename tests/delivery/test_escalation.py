"""The critical-needs ladder, driven by an injected clock: notice, call, door-knock list."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.delivery.escalation import Ladder, plan, time_left
from outage_notify.models import (
    Delivery,
    DeliveryState,
    Escalation,
    EscalationEvent,
    OptOut,
    Outage,
)
from outage_notify.reports.door_knocks import escalation_report, write_door_knocks
from outage_notify.residents.acknowledgements import acknowledge, acknowledge_phone
from outage_notify.settings import CriticalSettings
from tests.engine import ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customer, add_notice, add_outage

ZONE = ZoneInfo("Asia/Shanghai")
RULES = CriticalSettings(ack_wait="4h", call_wait="2h", door_knock_time="6h")  # type: ignore[arg-type]
START = T0 + timedelta(days=2)
PHONE = "+8613800000001"


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


@pytest.fixture
def city(db: Database) -> Database:
    """One critical customer with a phone, one without, one not critical; a notice at T0."""
    with db.session() as session:
        add_area(session, "W1")
        add_customer(session, "C1", phone=PHONE, water_area="W1", critical=True)
        add_customer(session, "C2", email="c2@example.org", water_area="W1", critical=True)
        add_customer(session, "N1", phone="+8613800000009", water_area="W1")
        add_notice(session, add_outage(session, start=START), due=T0)
    make_dispatcher(db, sms=ScriptedChannel(), email=ScriptedChannel()).run_once(T0)
    return db


def ladder(db: Database, *, call_enabled: bool = True, sent: list[int] | None = None) -> Ladder:
    def send(rows: list[Escalation], now: datetime) -> bool:
        if sent is not None:
            sent.extend(r.customer_id for r in rows)
        return True

    return Ladder(db, RULES, call_channel="voice", call_enabled=call_enabled, send_dispatch=send)


def stages(db: Database) -> dict[str, str]:
    with db.read() as session:
        report = escalation_report(session, 1, now=T0)
    return {k.account_id: k.stage for k in report.ladders}


def calls(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.exec(select(Delivery).where(Delivery.channel == "voice")).all())


def test_the_ladder_opens_for_critical_customers_the_notice_was_tried_on(city: Database) -> None:
    summary = ladder(city).run(hours(0.5))
    assert summary.opened == 2
    assert stages(city) == {"C1": "waiting", "C2": "waiting"}
    with city.read() as session:
        row = session.exec(select(Escalation).where(Escalation.customer_id == 1)).one()
    assert (row.notified_at, row.call_at, row.door_knock_at) == (T0, hours(4), hours(6))
    assert ladder(city).run(hours(1)).opened == 0  # once per customer and outage


def test_acknowledged_by_sms_is_never_called(city: Database) -> None:
    ladder(city).run(hours(1))
    with city.session() as session:
        assert acknowledge_phone(session, PHONE, hours(2)) == 1
    ladder(city).run(hours(4))
    ladder(city).run(hours(6))
    assert stages(city)["C1"] == "acknowledged"
    assert [c.address for c in calls(city)] == []


def test_acknowledged_by_the_call_stays_off_the_door_knock_list(city: Database) -> None:
    sent: list[int] = []
    ladder(city, sent=sent).run(hours(1))
    assert ladder(city, sent=sent).run(hours(4)).called == 2
    [call] = calls(city)  # C2 has no phone: nothing to call, on the list at once
    assert (call.address, call.state, call.deadline) == (PHONE, DeliveryState.PENDING, hours(6))
    assert sent == [2]
    with city.session() as session:
        acknowledge(session, customer_ids=[1], via="voice", now=hours(4.1), outage_id=1)
    ladder(city, sent=sent).run(hours(6))
    assert stages(city) == {"C1": "acknowledged", "C2": "door_knock"}
    assert sent == [2]


def test_never_acknowledged_goes_on_the_door_knock_list_with_the_time_left(
    city: Database,
) -> None:
    sent: list[int] = []
    for at in (1, 4, 5, 6):
        ladder(city, sent=sent).run(hours(at))
    assert stages(city) == {"C1": "door_knock", "C2": "door_knock"}
    assert sorted(sent) == [1, 2]
    with city.read() as session:
        report = escalation_report(session, 1, now=hours(6))
        steps = [
            e.step
            for e in session.exec(
                select(EscalationEvent).where(EscalationEvent.escalation_id == 1)
            ).all()
        ]
    assert steps == ["notified", "call", "door_knock", "dispatch_email"]
    rows = report.door_knock_rows(ZONE)
    assert [(r[0], r[7]) for r in rows] == [("C2", "42h 00m"), ("C1", "42h 00m")]
    out = io.StringIO()
    assert write_door_knocks(out, report, ZONE) == 2
    assert out.getvalue().splitlines()[0].startswith("account_id,name,address,phone")


def test_no_phone_goes_on_the_list_at_the_call_time(city: Database) -> None:
    ladder(city).run(hours(1))
    ladder(city).run(hours(4))
    assert stages(city)["C2"] == "door_knock"
    with city.read() as session:
        report = escalation_report(session, 1, now=hours(4))
    [c2] = [k for k in report.ladders if k.account_id == "C2"]
    assert "not called: no phone number" in c2.history(ZONE)


def test_a_customer_who_stopped_voice_calls_is_not_called(city: Database) -> None:
    with city.session() as session:
        session.add(OptOut(channel="voice", address=PHONE, source="voice"))
    ladder(city).run(hours(1))
    ladder(city).run(hours(4))
    assert calls(city) == []
    assert stages(city)["C1"] == "door_knock"


def test_cancelled_outage_closes_the_ladder(city: Database) -> None:
    ladder(city).run(hours(1))
    with city.session() as session:
        outage = session.get(Outage, 1)
        assert outage is not None
        outage.status = "cancelled"
        session.add(outage)
    assert ladder(city).run(hours(2)).closed == 2
    assert ladder(city).run(hours(5)).called == 0
    assert stages(city) == {"C1": "closed", "C2": "closed"}


@pytest.mark.parametrize(
    ("notified", "start", "call", "door_knock"),
    [
        (0, 48, 4, 6),  # time enough: the configured waits
        (0, 11, 3, 5),  # the list is due 6 h before the start: the call moves forward
        (0, 7, 0, 1),  # a late notice: call at once, list at the last moment
        (0, 5, 0, 0),  # past the door-knock time already: list at once
    ],
)
def test_the_ladder_is_planned_backwards_from_the_work_start(
    notified: float, start: float, call: float, door_knock: float
) -> None:
    assert plan(hours(notified), hours(start), RULES) == (hours(call), hours(door_knock))


def test_time_left() -> None:
    assert time_left(hours(5.5), hours(0)) == "5h 30m"
    assert time_left(hours(0.25), hours(0)) == "15m"
    assert time_left(hours(0), hours(1)) == "started"
