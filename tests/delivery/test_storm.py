"""A Twilio storm, end to end over HTTP to the fake: POSTs Twilio accepts but answers too late
(the client times out), a share of 429s on sends and on lookups, messages held queued at
Twilio (no DateSent). Every number is reached exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from channels.sms import TwilioSMS
from outage_notify.db import Database
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.recovery import reconcile
from outage_notify.models import Delivery
from tests.engine import NoWaitBackoff, PlainComposer
from tests.factories import T0, add_area, add_customers, add_notice, add_outage
from tests.fake_twilio import FakeTwilio

CUSTOMERS = 24
STEP = timedelta(seconds=61)  # past the 60 s backoff and the one-minute lookup


def sms_rows(db: Database) -> list[Delivery]:
    with db.read() as session:
        query = select(Delivery).where(Delivery.channel == "sms").order_by(col(Delivery.id))
        return list(session.exec(query).all())


@pytest.mark.slow
def test_a_storm_reaches_every_number_exactly_once(db: Database, fake_twilio: FakeTwilio) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, CUSTOMERS, email=None)
        add_notice(session, add_outage(session))
    fake_twilio.hold_queued()  # under load nothing is handed to the carrier for minutes
    fake_twilio.script(response_delay=0.25, rate_429_percent=30, lookup_429_percent=60, seed=3)
    channel = TwilioSMS(
        account_sid=fake_twilio.account_sid,
        auth_token=fake_twilio.auth_token,
        messaging_service_sid="MG" + "3" * 32,
        api_base_url=fake_twilio.url,
        timeout=0.1,  # every accepted POST is answered after the client gave up
    )
    dispatcher = Dispatcher(
        db,
        {"sms": channel},
        composer=PlainComposer(),
        concurrency={"sms": 4},
        rates={"sms": 10_000.0},
        backoff=NoWaitBackoff(base=60),
    )
    outcomes: dict[str, int] = {}
    now = T0  # before the fake's real-time stamps, so every lookup window covers them
    for round_ in range(12):
        if round_ == 4:  # the storm passes
            fake_twilio.script(response_delay=0, rate_429_percent=0, lookup_429_percent=0)
        reconcile(db, {"sms": channel}, PlainComposer(), now=now, me=dispatcher.worker_id)
        for key, count in dispatcher.run_once(now).results.items():
            outcomes[key] = outcomes.get(key, 0) + count
        if all(r.state == "sent" for r in sms_rows(db)):
            break
        now += STEP
    channel.close()
    rows = sms_rows(db)
    assert {r.state for r in rows} == {"sent"}, [(r.state, r.error) for r in rows]
    assert [fake_twilio.accepted_count(r.address) for r in rows] == [1] * CUSTOMERS
    assert not any(r.duplicate for r in rows)
    assert {r.provider_id for r in rows} == {m["sid"] for m in fake_twilio.messages}
    # The storm did what it was meant to: timeouts, failed lookups and 429s on sends.
    lookups = [r for r in fake_twilio.requests if r.method == "GET"]
    assert any(r.status == 429 for r in lookups)
    assert outcomes.get("sms/unanswered", 0) > 0
    assert outcomes.get("sms/retry", 0) > 0
