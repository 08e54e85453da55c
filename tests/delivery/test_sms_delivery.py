"""The delivery engine with the real Twilio channel, over real HTTP to the fake Twilio server:
dispatch, status callbacks through the web app, and crash recovery by provider lookup."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from channels.base import Message
from channels.sms import TwilioSMS
from outage_notify.db import Database, utcnow
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.outbox import expand_due
from outage_notify.delivery.recovery import reconcile
from outage_notify.models import Delivery
from outage_notify.settings import Settings, load_settings
from outage_notify.web.app import create_app
from tests.engine import NoWaitBackoff, PlainComposer
from tests.factories import T0, add_area, add_customers, add_notice, add_outage
from tests.fake_twilio import FakeTwilio

PUBLIC = "https://outages.example.org"
DEAD = f"{socket.gethostname()}:999999:deadbeef"  # a process of ours that is gone


def twilio_for(fake: FakeTwilio) -> TwilioSMS:
    return TwilioSMS(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        messaging_service_sid="MG" + "3" * 32,
        api_base_url=fake.url,
        status_callback_url=f"{PUBLIC}/twilio/status",
        clock=lambda: T0,
    )


def plan(db: Database, customers: int) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, customers)
        add_notice(session, add_outage(session))


def sms_rows(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(
            session.exec(
                select(Delivery).where(Delivery.channel == "sms").order_by(col(Delivery.id))
            ).all()
        )


def test_dispatch_through_twilio_then_callbacks_mark_delivered(
    db: Database,
    fake_twilio: FakeTwilio,
    config_values: dict[str, Any],
    config_file: Callable[[], Path],
) -> None:
    plan(db, customers=5)
    channel = twilio_for(fake_twilio)
    dispatcher = Dispatcher(
        db,
        {"sms": channel},
        composer=PlainComposer(),
        concurrency={"sms": 3},
        rates={"sms": 10_000.0},
        backoff=NoWaitBackoff(base=60),
    )
    summary = dispatcher.run_once(T0)
    channel.close()
    assert summary.results["sms/sent"] == 5
    rows = sms_rows(db)
    requests = {r.form["To"]: r.form for r in fake_twilio.sent()}
    assert set(requests) == {r.address for r in rows}
    for row in rows:
        form = requests[row.address]
        assert form["StatusCallback"] == f"{PUBLIC}/twilio/status?delivery={row.id}"
        assert form["ValidityPeriod"] == "36000"  # the work starts two days after T0
        assert row.state == "sent"
        assert row.provider_id in {m["sid"] for m in fake_twilio.messages}

    config_values["sms"]["auth_token"] = fake_twilio.auth_token
    settings: Settings = load_settings(config_file(), environ={})
    client = TestClient(create_app(settings, db, clock=lambda: T0))
    for row in rows:
        assert row.provider_id is not None
        for status in ("sent", "delivered", "sent"):  # the last one late
            url, form, headers = fake_twilio.status_callback(row.provider_id, status)
            response = client.post(url.removeprefix(PUBLIC), data=form, headers=headers)
            assert response.status_code == 204
    assert [r.state for r in sms_rows(db)] == ["delivered"] * 5


def test_crash_recovery_finds_what_twilio_already_has(
    db: Database, fake_twilio: FakeTwilio
) -> None:
    plan(db, customers=3)
    expand_due(db, T0)
    claimed_at = utcnow() - timedelta(minutes=1)  # the fake stamps messages with real time
    with db.session() as session:
        for row in session.exec(select(Delivery).where(Delivery.channel == "sms")).all():
            row.state, row.claimed_by, row.claimed_at, row.attempts = "sending", DEAD, claimed_at, 1
            session.add(row)
    rows = sms_rows(db)
    channel = twilio_for(fake_twilio)
    fake_twilio.hold_queued()  # under load Twilio holds them: no DateSent yet
    # The dead process got two of the three messages out before it died, and another
    # notice went to the first number meanwhile: only the matching body counts.
    composer = PlainComposer()
    channel.send(Message(999, "customer:0", rows[0].address, "zh-CN", "another notice"))
    sent = {}
    for row in rows[:2]:
        text = f"notice {row.notice_id} (advance)"
        assert row.id is not None
        sent[row.id] = channel.send(Message(row.id, "c", row.address, "zh-CN", text)).provider_id

    summary = reconcile(db, {"sms": channel}, composer, now=utcnow(), me="me")
    channel.close()
    assert (summary.found_at_provider, summary.resent, summary.possible_duplicates) == (2, 1, 0)
    after = {r.id: r for r in sms_rows(db)}
    for delivery_id, sid in sent.items():
        assert (after[delivery_id].state, after[delivery_id].provider_id) == ("sent", sid)
    assert after[rows[2].id].state == "pending"
    lookups = [r for r in fake_twilio.requests if r.method == "GET"]
    assert len(lookups) == 3
    assert {r.query["To"][0] for r in lookups} == {r.address for r in rows}


def test_a_timed_out_send_still_queued_at_twilio_is_found_not_resent(
    db: Database, fake_twilio: FakeTwilio
) -> None:
    plan(db, customers=2)
    fake_twilio.hold_queued()
    fake_twilio.script(response_delay=0.3)  # Twilio has the message, the answer comes late
    channel = TwilioSMS(
        account_sid=fake_twilio.account_sid,
        auth_token=fake_twilio.auth_token,
        messaging_service_sid="MG" + "3" * 32,
        api_base_url=fake_twilio.url,
        timeout=0.1,
    )
    dispatcher = Dispatcher(
        db,
        {"sms": channel},
        composer=PlainComposer(),
        concurrency={"sms": 2},
        rates={"sms": 10_000.0},
        backoff=NoWaitBackoff(base=60),
    )
    summary = dispatcher.run_once(T0)  # T0 is before the fake's real-time stamps
    channel.close()
    assert summary.results["sms/sent"] == 2
    rows = sms_rows(db)
    assert all(fake_twilio.accepted_count(row.address) == 1 for row in rows)
    assert {row.provider_id for row in rows} == {m["sid"] for m in fake_twilio.messages}


def test_dispatch_retries_429s_from_twilio_later(db: Database, fake_twilio: FakeTwilio) -> None:
    plan(db, customers=2)
    fake_twilio.fail_percent_429(100, retry_after="120")
    channel = twilio_for(fake_twilio)
    dispatcher = Dispatcher(
        db,
        {"sms": channel},
        composer=PlainComposer(),
        concurrency={"sms": 1},
        rates={"sms": 10_000.0},
        backoff=NoWaitBackoff(base=60),
    )
    dispatcher.run_once(T0)
    channel.close()
    rows = sms_rows(db)
    assert [r.state for r in rows] == ["pending", "pending"]
    assert all(r.error_code == "20429" for r in rows)
    assert all(r.next_attempt_at == T0 + timedelta(seconds=120) for r in rows)  # Retry-After
    assert fake_twilio.stats()["messages"] == 0


def test_a_timeout_after_twilio_took_the_message_is_looked_up_not_resent(
    db: Database, fake_twilio: FakeTwilio
) -> None:
    now = utcnow()
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2, email=None)
        add_notice(session, add_outage(session, start=now + timedelta(days=2)), due=now)
    # Twilio creates each message, then answers after the client gave up waiting.
    fake_twilio.script(response_delay=1.5)
    channel = TwilioSMS(
        account_sid=fake_twilio.account_sid,
        auth_token=fake_twilio.auth_token,
        from_number="+15005550006",
        api_base_url=fake_twilio.url,
        timeout=0.5,
    )
    dispatcher = Dispatcher(
        db,
        {"sms": channel},
        composer=PlainComposer(),
        concurrency={"sms": 2},
        rates={"sms": 10_000.0},
    )
    summary = dispatcher.run_once()
    channel.close()
    assert summary.results["sms/sent"] == 2
    rows = sms_rows(db)
    assert {r.state for r in rows} == {"sent"}
    assert {r.provider_id for r in rows} == {m["sid"] for m in fake_twilio.messages}
    assert all(fake_twilio.accepted_count(r.address) == 1 for r in rows)  # none sent twice
