"""``POST /twilio/voice``: a call's keypresses (TwiML back) and its status callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from channels.base import Message
from channels.voice import Speaker, TwilioVoice
from outage_notify.db import Database
from outage_notify.models import (
    Delivery,
    DeliveryState,
    Escalation,
    EscalationEvent,
    OptOut,
)
from outage_notify.settings import Settings, load_settings
from outage_notify.web.app import create_app
from tests.factories import T0, add_area, add_customer, add_notice, add_outage
from tests.fake_twilio import FakeTwilio, running
from tests.web.test_twilio import sign

TOKEN = "test-auth-token"
PUBLIC = "https://outages.example.org"
PHONE = "+862088776655"
NOW = T0 + timedelta(hours=5)


@pytest.fixture
def voice_settings(config_values: dict[str, Any], config_file: Callable[[], Path]) -> Settings:
    config_values["sms"]["auth_token"] = TOKEN
    return load_settings(config_file(), environ={})


@pytest.fixture
def client(voice_settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(voice_settings, db, clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with running(auth_token=TOKEN) as server:
        yield server


@pytest.fixture
def call(db: Database) -> int:
    """A critical landline customer's call delivery of an advance notice, with its ladder."""
    with db.session() as session:
        add_area(session, "W1", name="人民路片区", name_en="Renmin Road")
        customer = add_customer(
            session, "C1", phone=PHONE, language="en", water_area="W1", critical=True
        )
        outage = add_outage(session, start=T0 + timedelta(days=2))
        notice = add_notice(session, outage, due=T0)
        delivery = Delivery(
            notice_id=notice.id or 0,
            channel="voice",
            address=PHONE,
            customer_id=customer.id,
            language="en",
            state=DeliveryState.SENT,
            next_attempt_at=T0,
            deadline=outage.start_at,
        )
        session.add(delivery)
        session.flush()
        session.add(
            Escalation(
                outage_id=outage.id or 0,
                customer_id=customer.id or 0,
                notice_id=notice.id or 0,
                stage="calling",
                start_at=outage.start_at,
                notified_at=T0,
                call_at=T0 + timedelta(hours=4),
                door_knock_at=T0 + timedelta(hours=6),
                call_delivery_id=delivery.id,
            )
        )
        assert delivery.id is not None
        return delivery.id


def press(client: TestClient, delivery_id: int, digits: str) -> Any:
    url = f"{PUBLIC}/twilio/voice?delivery={delivery_id}&event=gather"
    form = {"CallSid": "CA" + "1" * 32, "Digits": digits, "CallStatus": "in-progress"}
    return client.post(
        f"/twilio/voice?delivery={delivery_id}&event=gather", data=form, headers=sign(url, form)
    )


def spoken(twiml: str) -> list[str]:
    return [say.text or "" for say in ElementTree.fromstring(twiml).iter("Say")]


def test_an_unsigned_request_changes_nothing(client: TestClient, call: int, db: Database) -> None:
    response = client.post(f"/twilio/voice?delivery={call}", data={"Digits": "9"})
    assert response.status_code == 403
    with db.read() as session:
        assert session.exec(select(OptOut)).all() == []


def test_pressing_9_stops_voice_calls_only(client: TestClient, call: int, db: Database) -> None:
    response = press(client, call, "9")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    [said] = spoken(response.text)
    assert "no more calls" in said
    with db.read() as session:
        rows = session.exec(select(OptOut)).all()
    assert [(r.channel, r.address, r.source) for r in rows] == [("voice", PHONE, "voice")]


def test_pressing_1_acknowledges_the_ladder(client: TestClient, call: int, db: Database) -> None:
    [said] = spoken(press(client, call, "1").text)
    assert "confirmation is recorded" in said
    with db.read() as session:
        escalation = session.exec(select(Escalation)).one()
        events = session.exec(select(EscalationEvent)).all()
    assert (escalation.stage, escalation.acknowledged_via) == ("acknowledged", "voice")
    assert [(e.step, e.channel) for e in events] == [("acknowledged", "voice")]


def test_pressing_2_repeats_the_message_in_the_calls_language(
    client: TestClient, call: int
) -> None:
    response = press(client, call, "2")
    root = ElementTree.fromstring(response.text)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.attrib["action"] == f"{PUBLIC}/twilio/voice?delivery={call}&event=gather"
    [said] = spoken(response.text)
    assert "Renmin Road" in said
    assert "Press 9" in said
    say = root.find(".//Say")
    assert say is not None
    assert say.attrib["language"] == "en-US"


def _place_call(fake: FakeTwilio, delivery_id: int) -> str:
    channel = TwilioVoice(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+15005550006",
        speakers={"en": Speaker("Polly.Joanna", "en-US")},
        api_base_url=fake.url,
        callback_url=f"{PUBLIC}/twilio/voice",
    )
    message = Message(
        delivery_id=delivery_id, recipient_id="customer:1", address=PHONE, language="en", text="x"
    )
    result = channel.send(message)
    channel.close()
    assert result.provider_id is not None
    return result.provider_id


@pytest.mark.parametrize(
    ("how", "state", "result"),
    [
        ("human", DeliveryState.DELIVERED, "completed, answered by human"),
        ("machine", DeliveryState.DELIVERED, "completed, answered by machine_end_beep"),
        ("fax", DeliveryState.UNDELIVERED, "completed, answered by fax"),
        ("busy", DeliveryState.UNDELIVERED, "busy"),
        ("no-answer", DeliveryState.UNDELIVERED, "no-answer"),
    ],
)
def test_call_status_callbacks_update_the_delivery_and_the_ladder(
    client: TestClient,
    call: int,
    db: Database,
    fake: FakeTwilio,
    how: str,
    state: DeliveryState,
    result: str,
) -> None:
    with db.session() as session:
        row = session.get(Delivery, call)
        assert row is not None
        row.state, row.provider_id = DeliveryState.SENDING, None
        session.add(row)
    fake.answer(PHONE, how)
    sid = _place_call(fake, call)
    for url, form, headers in fake.call_events(sid):
        parts = urlsplit(url)
        response = client.post(f"{parts.path}?{parts.query}", data=form, headers=headers)
        assert response.status_code == 204
    with db.read() as session:
        row = session.get(Delivery, call)
        events = session.exec(select(EscalationEvent)).all()
    assert row is not None
    assert (row.state, row.provider_id) == (state, sid)
    assert [(e.step, e.detail) for e in events] == [("call_result", result)]
