from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from channels.base import ChannelError, DeliveryResult, Message
from outage_notify.db import Database
from outage_notify.delivery.dispatcher import Backoff, Dispatcher
from outage_notify.models import Customer, Delivery, OptOut
from tests.engine import NoWaitBackoff, PlainComposer, ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customers, add_notice, add_outage


def _plan(db: Database, customers: int = 4, **notice: object) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, customers)
        add_notice(session, add_outage(session), **notice)  # type: ignore[arg-type]


def _states(db: Database) -> dict[str, list[str]]:
    with db.read() as session:
        rows = session.exec(select(Delivery).order_by(Delivery.id)).all()  # type: ignore[arg-type]
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row.channel, []).append(row.state)
    return out


def _deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


def test_everything_due_is_sent_once_and_recorded(db: Database) -> None:
    _plan(db)
    sms, email = ScriptedChannel(), ScriptedChannel()
    summary = make_dispatcher(db, sms=sms, email=email).run_once(T0)
    assert summary.results == {"sms/sent": 4, "email/sent": 4}
    assert _states(db) == {"sms": ["sent"] * 4, "email": ["sent"] * 4}
    assert len({m.address for m in sms.sent}) == 4
    rows = _deliveries(db)
    assert all(r.provider_id == f"P{r.id}" and r.sent_at == T0 and r.attempts == 1 for r in rows)
    assert all(not r.late for r in rows)
    # A second pass finds nothing more to send.
    assert make_dispatcher(db, sms=sms, email=email).run_once(T0).results == {}
    assert len(sms.attempts) == 4


def test_messages_name_recipients_by_id_and_carry_the_deadline(db: Database) -> None:
    _plan(db, customers=1)
    sms = ScriptedChannel()
    make_dispatcher(db, sms=sms).run_once(T0)
    (message,) = sms.sent
    assert message.recipient_id.startswith("customer:")
    assert message.valid_until == T0 + timedelta(days=2)  # the work start


def test_file_backend_result_is_delivered(db: Database) -> None:
    _plan(db, customers=1)
    sms = ScriptedChannel(lambda m: DeliveryResult(provider_id="line-1", state="delivered"))
    make_dispatcher(db, sms=sms).run_once(T0)
    (row,) = [d for d in _deliveries(db) if d.channel == "sms"]
    assert row.state == "delivered"
    assert row.delivered_at == T0


def test_sms_is_not_sent_before_its_quiet_hours_time(db: Database) -> None:
    _plan(db, customers=2, due=T0, sms_due=T0 + timedelta(hours=8))
    sms, email = ScriptedChannel(), ScriptedChannel()
    make_dispatcher(db, sms=sms, email=email).run_once(T0)
    assert (len(sms.sent), len(email.sent)) == (0, 2)
    make_dispatcher(db, sms=sms, email=email).run_once(T0 + timedelta(hours=8))
    assert len(sms.sent) == 2


@pytest.mark.parametrize(
    ("error", "state", "flagged"),
    [
        (
            ChannelError("invalid number", permanent=True, code="21211", flag="invalid_contact"),
            "failed",
            "phone_invalid",
        ),
        (
            ChannelError("unsubscribed", permanent=True, code="21610", flag="opted_out"),
            "failed",
            "opt_out",
        ),
        (ChannelError("carrier filtered", permanent=True, code="30007"), "failed", None),
    ],
)
def test_permanent_errors_are_recorded_and_never_retried(
    db: Database, error: ChannelError, state: str, flagged: str | None
) -> None:
    _plan(db, customers=1)

    def fail(message: Message) -> DeliveryResult:
        raise error

    sms = ScriptedChannel(fail)
    make_dispatcher(db, sms=sms).run_once(T0)
    make_dispatcher(db, sms=sms).run_once(T0 + timedelta(hours=1))
    assert len(sms.attempts) == 1
    (row,) = [d for d in _deliveries(db) if d.channel == "sms"]
    assert (row.state, row.error_code, row.error) == (state, error.code, error.reason)
    with db.read() as session:
        customer = session.exec(select(Customer)).one()
        opt_outs = session.exec(select(OptOut)).all()
    assert customer.phone_invalid is (flagged == "phone_invalid")
    assert [(o.channel, o.source) for o in opt_outs] == (
        [("sms", "provider")] if flagged == "opt_out" else []
    )


def test_transient_error_is_retried_after_the_backoff_and_retry_after(db: Database) -> None:
    _plan(db, customers=1)
    calls = {"n": 0}

    def flaky(message: Message) -> DeliveryResult | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ChannelError(
                "429 Too Many Requests", permanent=False, code="20429", retry_after=120
            )
        return None

    sms = ScriptedChannel(flaky)
    dispatcher = make_dispatcher(db, sms=sms, backoff=NoWaitBackoff(base=30))
    assert dispatcher.run_once(T0).results == {"sms/retry": 1}
    (row,) = [d for d in _deliveries(db) if d.channel == "sms"]
    assert (row.state, row.next_attempt_at, row.error_code) == (
        "pending",
        T0 + timedelta(seconds=120),
        "20429",
    )
    assert dispatcher.run_once(T0 + timedelta(seconds=119)).results == {}
    assert dispatcher.run_once(T0 + timedelta(seconds=120)).results == {"sms/sent": 1}
    (row,) = [d for d in _deliveries(db) if d.channel == "sms"]
    assert (row.state, row.attempts, row.error) == ("sent", 2, None)


def test_transient_errors_give_up_at_the_deadline(db: Database) -> None:
    _plan(db, customers=1, deadline=T0 + timedelta(minutes=5))

    def down(message: Message) -> DeliveryResult:
        raise ChannelError("503 Service Unavailable", permanent=False, code="503")

    sms = ScriptedChannel(down)
    dispatcher = make_dispatcher(db, sms=sms, backoff=NoWaitBackoff(base=120))
    dispatcher.run_once(T0)
    dispatcher.run_once(T0 + timedelta(seconds=120))
    assert dispatcher.run_once(T0 + timedelta(seconds=240)).results == {"sms/failed": 1}
    (row,) = [d for d in _deliveries(db) if d.channel == "sms"]
    assert row.state == "failed"
    assert row.error is not None
    assert row.error.startswith("gave up at the deadline after 3 attempts")


def test_deliveries_past_the_deadline_expire_unsent(db: Database) -> None:
    _plan(db, customers=2, sms_due=T0 + timedelta(days=3))  # past the start: never goes
    sms = ScriptedChannel()
    dispatcher = make_dispatcher(db, sms=sms, email=ScriptedChannel())
    dispatcher.run_once(T0)
    summary = dispatcher.run_once(T0 + timedelta(days=2))
    assert summary.expired == 2
    assert sms.attempts == []
    assert _states(db)["sms"] == ["expired", "expired"]


def test_one_failing_channel_does_not_stop_the_other(db: Database) -> None:
    _plan(db, customers=3)

    def down(message: Message) -> DeliveryResult:
        raise ChannelError("connection refused", permanent=False)

    email = ScriptedChannel()
    make_dispatcher(db, sms=ScriptedChannel(down), email=email).run_once(T0)
    assert len(email.sent) == 3
    assert _states(db)["sms"] == ["pending"] * 3


def test_unexpected_channel_exception_is_a_retry_not_a_loss(db: Database) -> None:
    _plan(db, customers=1)

    def bug(message: Message) -> DeliveryResult:
        raise KeyError("oops")

    make_dispatcher(db, sms=ScriptedChannel(bug)).run_once(T0)
    assert _states(db)["sms"] == ["pending"]


def test_a_stop_recorded_mid_fan_out_stops_later_sends(db: Database) -> None:
    _plan(db, customers=6)
    later = "+8613800000004"

    def stop_arrives(message: Message) -> None:
        if message.delivery_id == 1:  # the resident replies STOP while the fan-out runs
            with db.session() as session:
                session.add(OptOut(channel="sms", address=later, source="sms"))

    sms = ScriptedChannel(stop_arrives)
    summary = make_dispatcher(db, sms=sms, concurrency=1).run_once(T0)
    assert later not in [m.address for m in sms.attempts]
    assert summary.results["sms/skipped"] == 1
    skipped = [d for d in _deliveries(db) if d.state == "skipped" and d.channel == "sms"]
    assert [(d.address, d.error) for d in skipped] == [(later, "opted_out")]


def test_two_dispatchers_at_once_never_send_twice(db: Database) -> None:
    _plan(db, customers=60)
    barrier = threading.Barrier(2)
    channels = [ScriptedChannel(), ScriptedChannel()]

    def run(channel: ScriptedChannel) -> None:
        dispatcher = make_dispatcher(db, sms=channel, email=ScriptedChannel(), concurrency=3)
        barrier.wait()
        dispatcher.run_once(T0)

    threads = [threading.Thread(target=run, args=(c,)) for c in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [m.delivery_id for c in channels for m in c.attempts]
    assert len(sent) == len(set(sent)) == 60
    assert _states(db)["sms"] == ["sent"] * 60


def test_backoff_grows_with_jitter_and_follows_retry_after() -> None:
    import random

    backoff = Backoff(base=10, factor=2, cap=100, rng=random.Random(1))
    delays = [backoff.delay(n) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(100, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    for attempts in (1, 5):
        assert 300 <= backoff.delay(attempts, retry_after=300) <= 330


def _quiet_dispatcher(db: Database, sms: ScriptedChannel, email: ScriptedChannel) -> Dispatcher:
    from datetime import time
    from zoneinfo import ZoneInfo

    return Dispatcher(
        db,
        {"sms": sms, "email": email},
        composer=PlainComposer(),
        concurrency={"sms": 2, "email": 2},
        rates={"sms": 10_000.0, "email": 10_000.0},
        quiet_hours=(time(21, 0), time(8, 0)),
        zone=ZoneInfo("Asia/Shanghai"),
    )


def test_sms_that_can_wait_wait_out_the_quiet_hours(db: Database) -> None:
    # 21:30 in Shanghai; the work starts at 08:00 two days later.
    evening = T0 + timedelta(hours=13, minutes=30)
    _plan(db, customers=3, due=evening)
    sms, email = ScriptedChannel(), ScriptedChannel()
    dispatcher = _quiet_dispatcher(db, sms, email)
    dispatcher.run_once(evening)
    assert (len(sms.sent), len(email.sent)) == (0, 3)  # email is not held
    morning = T0 + timedelta(days=1)  # 08:00 next day
    rows = [d for d in _deliveries(db) if d.channel == "sms"]
    assert {(d.state, d.next_attempt_at) for d in rows} == {("pending", morning)}
    dispatcher.run_once(morning)
    assert len(sms.sent) == 3


def test_sms_that_cannot_wait_go_in_the_quiet_hours(db: Database) -> None:
    late = T0 + timedelta(hours=15)  # 23:00; the work starts at 06:00, before the quiet end
    _plan(db, customers=2, due=late, deadline=T0 + timedelta(hours=22))
    sms, email = ScriptedChannel(), ScriptedChannel()
    _quiet_dispatcher(db, sms, email).run_once(late)
    assert len(sms.sent) == 2


def test_an_invalid_number_flags_every_account_that_has_it(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2, phone="+8613800000099", email=None)  # two accounts, one phone
        add_notice(session, add_outage(session))

    def invalid(message: Message) -> DeliveryResult:
        raise ChannelError("invalid number", permanent=True, code="21211", flag="invalid_contact")

    make_dispatcher(db, sms=ScriptedChannel(invalid)).run_once(T0)
    with db.read() as session:
        flags = [c.phone_invalid for c in session.exec(select(Customer)).all()]
    assert flags == [True, True]
