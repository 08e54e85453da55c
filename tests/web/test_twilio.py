from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from channels.base import Message
from channels.sms import TwilioSMS
from outage_notify.db import Database
from outage_notify.models import Delivery, InboundMessage, OptOut
from outage_notify.settings import Settings, load_settings
from outage_notify.web.app import create_app
from tests.fake_twilio import FakeTwilio
from tests.sms_records import NOW, add_delivery

TOKEN = "test-auth-token"
PUBLIC = "https://outages.example.org"
PHONE = "+8613800138000"


@pytest.fixture
def twilio_settings(config_values: dict[str, Any], config_file: Callable[[], Path]) -> Settings:
    config_values["sms"]["auth_token"] = TOKEN
    return load_settings(config_file(), environ={})


@pytest.fixture
def client(twilio_settings: Settings, db: Database) -> Iterator[TestClient]:
    # The app sits behind a TLS proxy: requests arrive as plain http on 127.0.0.1.
    app = create_app(twilio_settings, db, clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def inbound_form(body: str, sid: str = "SM" + "1" * 32, sender: str = PHONE) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "f" * 32,
        "Body": body,
        "From": sender,
        "MessageSid": sid,
        "NumMedia": "0",
        "To": "+15005550006",
    }


def post_inbound(client: TestClient, form: dict[str, str], headers: dict[str, str]) -> Any:
    return client.post("/twilio/inbound", data=form, headers=headers)


def twiml_messages(text: str) -> list[str]:
    root = ElementTree.fromstring(text)
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


def stored(db: Database) -> tuple[int, int]:
    with db.read() as session:
        return (
            len(session.exec(select(InboundMessage)).all()),
            len(session.exec(select(OptOut)).all()),
        )


def test_a_signed_stop_opts_out_and_replies_in_twiml(client: TestClient, db: Database) -> None:
    form = inbound_form("STOP")
    response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    [reply] = twiml_messages(response.text)
    assert "START" in reply
    assert stored(db) == (1, 1)


@pytest.mark.parametrize(
    ("case", "signed_url", "tamper"),
    [
        ("missing", None, None),
        ("altered parameter", f"{PUBLIC}/twilio/inbound", ("Body", "START")),
        ("added parameter", f"{PUBLIC}/twilio/inbound", ("Extra", "1")),
        ("wrong host", "https://attacker.example.com/twilio/inbound", None),
        ("internal URL", "http://127.0.0.1:8080/twilio/inbound", None),
        ("other path", f"{PUBLIC}/twilio/status", None),
        ("other token", "token:wrong", None),
    ],
)
def test_a_bad_signature_is_403_and_changes_nothing(
    client: TestClient,
    db: Database,
    case: str,
    signed_url: str | None,
    tamper: tuple[str, str] | None,
) -> None:
    form = inbound_form("STOP")
    if signed_url is None:
        headers: dict[str, str] = {}
    elif signed_url == "token:wrong":
        headers = sign(f"{PUBLIC}/twilio/inbound", form, token="not-the-token")
    else:
        headers = sign(signed_url, form)
    if tamper is not None:
        form = {**form, tamper[0]: tamper[1]}
    response = post_inbound(client, form, headers)
    assert response.status_code == 403, case
    assert stored(db) == (0, 0)


def test_a_public_url_with_a_port_still_validates(client: TestClient, db: Database) -> None:
    # Twilio's validator accepts the URL with or without the default port.
    form = inbound_form("HELP")
    response = post_inbound(client, form, sign(f"{PUBLIC}:443/twilio/inbound", form))
    assert response.status_code == 200


def test_without_an_auth_token_every_webhook_is_refused(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db, clock=lambda: NOW))
    form = inbound_form("STOP")
    signature = sign(f"{PUBLIC}/twilio/inbound", form, token="")
    assert post_inbound(client, form, signature).status_code == 403
    assert stored(db) == (0, 0)


def test_inbound_without_a_sender_is_400(client: TestClient) -> None:
    form = {"Body": "STOP", "MessageSid": "SM1"}
    response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    assert response.status_code == 400


def test_an_unknown_message_gets_an_empty_twiml_the_second_time(client: TestClient) -> None:
    replies = []
    for n in range(2):
        form = inbound_form("Is the water back?", sid=f"SM{n}")
        response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
        replies.append(twiml_messages(response.text))
    assert len(replies[0]) == 1
    assert replies[1] == []


def status_form(sid: str, status: str, code: str | None = None) -> dict[str, str]:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "f" * 32}
    if code is not None:
        form["ErrorCode"] = code
    return form


def post_status(client: TestClient, form: dict[str, str], query: str = "") -> Any:
    url = f"{PUBLIC}/twilio/status" + (f"?{query}" if query else "")
    path = "/twilio/status" + (f"?{query}" if query else "")
    return client.post(path, data=form, headers=sign(url, form))


def make_delivery(db: Database, **fields: Any) -> int:
    with db.session() as session:
        delivery = add_delivery(session, **fields)
        assert delivery.id is not None
        return delivery.id


def delivery(db: Database, delivery_id: int) -> tuple[str, str | None]:
    with db.read() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row.state, row.error_code


def test_status_callbacks_duplicated_and_out_of_order(client: TestClient, db: Database) -> None:
    delivery_id = make_delivery(db, provider_id="SMabc")
    for status in ["delivered", "sent", "delivered", "sent"]:
        assert post_status(client, status_form("SMabc", status)).status_code == 204
    assert delivery(db, delivery_id) == ("delivered", None)


def test_status_callback_records_the_error_code(client: TestClient, db: Database) -> None:
    delivery_id = make_delivery(db, provider_id="SMabc", address=PHONE)
    post_status(client, status_form("SMabc", "undelivered", "21610"))
    assert delivery(db, delivery_id) == ("undelivered", "21610")
    with db.read() as session:
        assert session.exec(select(OptOut.source)).all() == ["provider"]


def test_status_callback_for_an_unknown_sid_is_200_and_changes_nothing(
    client: TestClient, db: Database
) -> None:
    delivery_id = make_delivery(db, provider_id="SMabc")
    assert post_status(client, status_form("SMother", "failed")).status_code == 204
    assert delivery(db, delivery_id) == ("sent", None)


def test_status_callback_with_the_delivery_id_in_its_url(client: TestClient, db: Database) -> None:
    delivery_id = make_delivery(db, state="sending", provider_id=None)
    form = status_form("SMfirst", "sent")
    assert post_status(client, form, query=f"delivery={delivery_id}").status_code == 204
    assert delivery(db, delivery_id) == ("sent", None)


def test_status_callback_with_a_bad_signature_is_403(client: TestClient, db: Database) -> None:
    delivery_id = make_delivery(db, provider_id="SMabc")
    form = status_form("SMabc", "delivered")
    headers = sign(f"{PUBLIC}/twilio/status", {**form, "MessageStatus": "failed"})
    assert client.post("/twilio/status", data=form, headers=headers).status_code == 403
    assert delivery(db, delivery_id) == ("sent", None)


def test_status_callback_without_a_status_is_400(client: TestClient) -> None:
    form = {"MessageSid": "SMabc"}
    response = client.post(
        "/twilio/status", data=form, headers=sign(f"{PUBLIC}/twilio/status", form)
    )
    assert response.status_code == 400


def test_callbacks_signed_by_the_fake_server_are_accepted(client: TestClient, db: Database) -> None:
    """End to end: TwilioSMS sends to the fake, the fake's signed callbacks reach the app."""
    delivery_id = make_delivery(db, state="sending", provider_id=None)
    with FakeTwilio(auth_token=TOKEN) as fake:
        channel = TwilioSMS(
            account_sid=fake.account_sid,
            auth_token=TOKEN,
            from_number="+15005550006",
            api_base_url=fake.url,
            status_callback_url=f"{PUBLIC}/twilio/status",
        )
        result = channel.send(Message(delivery_id, "customer:1", PHONE, "zh-CN", "停水通知"))
        channel.close()
        assert result.provider_id
        callbacks = [fake.status_callback(result.provider_id, s) for s in ("sent", "delivered")]
    for url, form, headers in callbacks:
        assert url == f"{PUBLIC}/twilio/status?delivery={delivery_id}"
        response = client.post(url.removeprefix(PUBLIC), data=form, headers=headers)
        assert response.status_code == 204
    with db.read() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        assert (row.state, row.provider_id) == ("delivered", result.provider_id)


def test_a_keyword_twilio_already_answered_gets_an_empty_twiml(
    client: TestClient, db: Database
) -> None:
    form = {**inbound_form("退订"), "OptOutType": "STOP"}
    response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    assert response.status_code == 200
    assert twiml_messages(response.text) == []
    assert stored(db) == (1, 1)


def test_a_write_conflict_with_a_concurrent_webhook_is_tried_again(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    from outage_notify.web import twilio as webhooks

    real = webhooks.handle_inbound
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # another request inserted the same opt-out first
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return real(*args, **kwargs)

    monkeypatch.setattr(webhooks, "handle_inbound", racing)
    form = inbound_form("STOP")
    response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    assert response.status_code == 200
    assert len(calls) == 2
    assert stored(db) == (1, 1)


@pytest.mark.parametrize(
    "internal", ["http://127.0.0.1:8080", "http://10.0.0.7:9000", "https://outages.example.org"]
)
def test_behind_a_proxy_only_the_public_url_counts(
    twilio_settings: Settings, db: Database, internal: str
) -> None:
    form = inbound_form("HELP")
    headers = sign(f"{PUBLIC}/twilio/inbound", form)
    with TestClient(create_app(twilio_settings, db, clock=lambda: NOW), base_url=internal) as c:
        assert post_inbound(c, form, headers).status_code == 200


def test_a_public_url_with_a_path_prefix(
    config_values: dict[str, Any], config_file: Callable[[], Path], db: Database
) -> None:
    config_values["sms"]["auth_token"] = TOKEN
    config_values["public_url"] = "https://city.example.org/outages"
    settings = load_settings(config_file(), environ={})
    app = create_app(settings, db, clock=lambda: NOW)
    form = inbound_form("HELP")
    headers = sign("https://city.example.org/outages/twilio/inbound", form)
    # The proxy strips /outages and the server is told so (uvicorn --root-path /outages).
    with TestClient(app, root_path="/outages") as c:
        assert post_inbound(c, form, headers).status_code == 200
        assert c.post("/outages/twilio/inbound", data=form, headers=headers).status_code == 200


def test_logs_never_name_the_phone_number(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    delivery_id = make_delivery(db, provider_id="SMabc", address=PHONE)
    with db.session() as session:
        from tests.sms_records import add_customer

        add_customer(session, "ACC-1", PHONE)
    for body in ["STOP", "START", "状态", "SUB NOPE", "hello"]:
        form = inbound_form(body, sid=f"SM{body}")
        post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    post_status(client, status_form("SMabc", "undelivered", "30005"))
    post_inbound(client, inbound_form("STOP"), {"X-Twilio-Signature": "forged"})
    assert delivery(db, delivery_id) == ("undelivered", "30005")
    assert caplog.records
    digits = PHONE.lstrip("+")
    for record in caplog.records:
        assert digits not in str(vars(record)), record.getMessage()


@pytest.mark.parametrize("path", ["/twilio/inbound", "/twilio/status"])
@pytest.mark.parametrize("signature", ["", "anything", "c2lnbmF0dXJl"])
def test_a_multipart_form_with_a_file_is_403_whatever_the_signature(
    client: TestClient, db: Database, path: str, signature: str
) -> None:
    form = inbound_form("STOP")
    headers = {
        "X-Twilio-Signature": signature or sign(f"{PUBLIC}{path}", form)["X-Twilio-Signature"]
    }
    files = {"MediaUrl0": ("x.bin", b"\x00\x01binary", "application/octet-stream")}
    response = client.post(path, data=form, files=files, headers=headers)
    assert response.status_code == 403
    assert stored(db) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("MessageSid", "SM" + "1" * 63, "MessageSid is longer than 64 characters"),
        ("Body", "STOP\x00", "Body contains a control character"),
        ("From", "+86138\x0000138000", "From contains a control character"),
    ],
)
def test_a_signed_inbound_sms_with_a_hostile_field_is_400_and_stores_nothing(
    client: TestClient, db: Database, field: str, value: str, reason: str
) -> None:
    form = {**inbound_form("STOP"), field: value}
    response = post_inbound(client, form, sign(f"{PUBLIC}/twilio/inbound", form))
    assert (response.status_code, response.text) == (400, reason)
    assert stored(db) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("MessageSid", "SM" + "2" * 63), ("ErrorCode", "3" * 33), ("MessageStatus", "sent\x00")],
)
def test_a_signed_status_callback_with_a_hostile_field_is_400(
    client: TestClient, field: str, value: str
) -> None:
    form = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", field: value}
    url = f"{PUBLIC}/twilio/status"
    response = client.post("/twilio/status", data=form, headers=sign(url, form))
    assert response.status_code == 400
