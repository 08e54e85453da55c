from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from channels.base import ChannelError, Message
from channels.sms import (
    BACKENDS,
    DisabledSMS,
    FileSMS,
    SentMessage,
    TwilioSMS,
    retry_after_seconds,
    scrub,
    validity_period,
)
from tests.channels.twilio_failures import failure_table, twilio_error
from tests.fake_twilio import FakeTwilio

SID = "AC" + "1" * 32
TOKEN = "secret-token"
SERVICE = "MG" + "2" * 32
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
CALLBACK = "https://outages.example.org/twilio/status"
TO = "+8613800138000"


def message(*, delivery_id: int = 42, to: str = TO, valid_until: datetime | None = None) -> Message:
    return Message(
        delivery_id=delivery_id,
        recipient_id="customer:7",
        address=to,
        language="en",
        text="Water off Tue 1 Dec 08:00-12:00. Hotline 12319",
        valid_until=valid_until,
    )


def twilio(**overrides: object) -> TwilioSMS:
    options: dict[str, object] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "messaging_service_sid": SERVICE,
        "status_callback_url": CALLBACK,
        "clock": lambda: NOW,
    }
    options.update(overrides)
    return TwilioSMS(**options)  # type: ignore[arg-type]


def created(sid: str = "SM" + "a" * 32, status: str = "accepted") -> dict[str, object]:
    return {"sid": sid, "status": status, "to": TO, "account_sid": SID}


def form_of(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


@responses.activate
def test_send_posts_the_exact_form_fields_through_a_messaging_service() -> None:
    responses.post(MESSAGES_URL, json=created(), status=201)
    twilio().send(message(valid_until=NOW + timedelta(hours=2)))
    assert form_of(responses.calls[0]) == {
        "To": TO,
        "Body": "Water off Tue 1 Dec 08:00-12:00. Hotline 12319",
        "MessagingServiceSid": SERVICE,
        "StatusCallback": f"{CALLBACK}?delivery=42",
        "ValidityPeriod": "7200",
    }


@responses.activate
def test_send_from_a_number_when_there_is_no_messaging_service() -> None:
    responses.post(MESSAGES_URL, json=created(), status=201)
    twilio(messaging_service_sid="", from_number="+15005550006", status_callback_url=None).send(
        message()
    )
    assert form_of(responses.calls[0]) == {
        "To": TO,
        "Body": "Water off Tue 1 Dec 08:00-12:00. Hotline 12319",
        "From": "+15005550006",
    }


@responses.activate
def test_send_returns_the_message_sid_as_sent() -> None:
    responses.post(MESSAGES_URL, json=created("SM" + "b" * 32), status=201)
    result = twilio().send(message())
    assert result.provider_id == "SM" + "b" * 32
    assert result.state == "sent"


@pytest.mark.parametrize(
    ("valid_until", "expected"),
    [
        (None, None),
        (NOW + timedelta(hours=2), 7200),
        (NOW + timedelta(hours=2, milliseconds=900), 7200),  # rounded down, never past
        (NOW + timedelta(hours=10), 36_000),
        (NOW + timedelta(hours=72), 36_000),  # Twilio's maximum
        (NOW + timedelta(milliseconds=300), 1),  # Twilio's minimum
        (NOW - timedelta(minutes=5), 1),
    ],
)
def test_validity_period_ends_at_the_work_start(
    valid_until: datetime | None, expected: int | None
) -> None:
    assert validity_period(valid_until, NOW) == expected


@responses.activate
def test_validity_period_is_omitted_without_a_deadline() -> None:
    responses.post(MESSAGES_URL, json=created(), status=201)
    twilio().send(message(valid_until=None))
    assert "ValidityPeriod" not in form_of(responses.calls[0])


@responses.activate
def test_credentials_come_from_arguments_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "9" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "environment-token")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    responses.post(MESSAGES_URL, json=created(), status=201)
    twilio().send(message())
    request = responses.calls[0].request
    assert request.url == MESSAGES_URL  # no edge or region rewrote the host
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_api_base_url_points_the_client_at_another_endpoint() -> None:
    base = "https://twilio-proxy.example.net/relay"
    url = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
    responses.post(url, json=created(), status=201)
    twilio(api_base_url=base + "/").send(message())
    assert responses.calls[0].request.url == url


@responses.activate
@pytest.mark.parametrize(
    ("status", "code", "permanent", "flag"),
    [
        (400, 21211, True, "invalid_contact"),
        (400, 21614, True, "invalid_contact"),
        (400, 30005, True, "invalid_contact"),
        (400, 30006, True, "invalid_contact"),
        (400, 21610, True, "opted_out"),
        (400, 30007, True, None),
        (429, 20429, False, None),
        (400, 21602, True, None),  # any other 4xx
        (401, 20003, False, None),  # our credentials: retried once fixed, not failed for good
        (403, 20005, False, None),  # account suspended
        (404, 20404, True, None),
        (500, 20500, False, None),
        (503, 503, False, None),
    ],
)
def test_twilio_errors_become_channel_errors_keeping_the_code(
    status: int, code: int, permanent: bool, flag: str | None
) -> None:
    responses.post(MESSAGES_URL, json=twilio_error(status, code), status=status)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert caught.value.permanent is permanent
    assert caught.value.code == str(code)
    assert caught.value.flag == flag


@responses.activate
@pytest.mark.parametrize(
    ("status", "code", "permanent", "flag"),
    [
        (400, 21211, True, "invalid_contact"),
        (400, 21610, True, "opted_out"),
        (429, 20429, False, None),
        (503, 20503, False, None),
    ],
)
def test_rfc9457_errors_are_handled_too(
    status: int, code: int, permanent: bool, flag: str | None
) -> None:
    problem = {"type": "https://x/errors", "title": "Problem", "status": status, "code": code}
    responses.post(MESSAGES_URL, json=problem, status=status, headers={"Retry-After": "3"})
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert isinstance(caught.value.__cause__, Exception)
    assert type(caught.value.__cause__).__name__ == "TwilioServiceException"
    assert (caught.value.permanent, caught.value.code, caught.value.flag) == (
        permanent,
        str(code),
        flag,
    )


@responses.activate
def test_429_is_transient_with_retry_after_then_the_next_call_succeeds() -> None:
    responses.post(
        MESSAGES_URL, json=twilio_error(429, 20429), status=429, headers={"Retry-After": "17"}
    )
    responses.post(MESSAGES_URL, json=created("SM" + "c" * 32), status=201)
    channel = twilio()
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    assert caught.value.permanent is False
    assert caught.value.retry_after == 17.0
    assert channel.send(message()).provider_id == "SM" + "c" * 32
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize(("answer", "permanent", "code"), failure_table(rejected=21211))
def test_shared_failure_table(answer: dict[str, Any], permanent: bool, code: str) -> None:
    responses.post(MESSAGES_URL, **answer)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert caught.value.permanent is permanent
    assert caught.value.code == code


@responses.activate
def test_connect_timeout_is_transient() -> None:
    responses.post(MESSAGES_URL, body=requests.exceptions.ConnectTimeout("no route"))
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert (caught.value.permanent, caught.value.code) == (False, "timeout")


@responses.activate
@pytest.mark.parametrize(
    ("body", "status"),
    [("this is not JSON", 201), ("", 201), ('{"status": "queued"}', 201)],
)
def test_a_garbled_success_is_a_transient_channel_error(body: str, status: int) -> None:
    responses.post(MESSAGES_URL, body=body, status=status)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert caught.value.permanent is False


@responses.activate
def test_the_reason_never_quotes_the_phone_number() -> None:
    text = f"The 'To' number {TO} is not a valid phone number."
    responses.post(MESSAGES_URL, json=twilio_error(400, 21211, text), status=400)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert TO not in caught.value.reason
    assert "13800138000" not in caught.value.reason
    assert "21211" in caught.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The number +8613800138000 is bad", "The number <number> is bad"),
        ("call (415) 555-0100 now", "call <number> now"),
        ("error 21211", "error 21211"),  # a five-digit code is not a number
    ],
)
def test_scrub_removes_phone_numbers(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("30", 30.0),
        ("1.5", 1.5),
        ("Tue, 01 Dec 2026 00:01:00 GMT", 60.0),
        ("Mon, 30 Nov 2026 23:00:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(
    header: str | None, expected: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == expected


@responses.activate
def test_lookup_lists_messages_to_the_number_since_a_time() -> None:
    since = NOW + timedelta(hours=8, minutes=30, seconds=5, microseconds=600)
    page = {
        "messages": [
            {
                "sid": "SM1",
                "status": "delivered",
                "date_created": "Tue, 01 Dec 2026 09:00:00 +0000",
                "body": "notice two",
            },
            {
                "sid": "SM2",
                "status": "sent",
                "date_created": "Tue, 01 Dec 2026 08:30:05 +0000",
                "body": "notice one",
            },
            {
                "sid": "SM3",
                "status": "delivered",
                "date_created": "Tue, 01 Dec 2026 07:00:00 +0000",
            },
        ],
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
    }
    responses.get(MESSAGES_URL, json=page)
    found = twilio().lookup(TO, since)
    assert found == [
        SentMessage("SM1", "delivered", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "notice two"),
        SentMessage("SM2", "sent", datetime(2026, 12, 1, 8, 30, 5, tzinfo=UTC), "notice one"),
    ]
    query = parse_qs(urlsplit(responses.calls[0].request.url or "").query)
    # By recipient and one bounded page; never DateSent, which a queued message lacks.
    assert query == {"To": [TO], "PageSize": ["100"]}


@responses.activate
@pytest.mark.parametrize(
    ("status", "permanent"), [(429, False), (500, False), (401, False), (404, True)]
)
def test_lookup_failures_are_channel_errors(status: int, permanent: bool) -> None:
    responses.get(MESSAGES_URL, json=twilio_error(status, 20000 + status), status=status)
    with pytest.raises(ChannelError) as caught:
        twilio().lookup(TO, NOW)
    assert caught.value.permanent is permanent


@responses.activate
def test_lookup_timeout_is_a_transient_channel_error() -> None:
    responses.get(MESSAGES_URL, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ChannelError) as caught:
        twilio().lookup(TO, NOW)
    assert caught.value.code == "timeout"


@pytest.mark.parametrize(
    "missing",
    [
        {"account_sid": ""},
        {"auth_token": ""},
        {"messaging_service_sid": "", "from_number": ""},
    ],
)
def test_twilio_needs_credentials_and_a_sender(missing: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        twilio(**missing)


def test_backends_are_a_plain_registry() -> None:
    assert set(BACKENDS) == {"twilio", "file", "disabled"}
    assert (BACKENDS["twilio"], BACKENDS["file"], BACKENDS["disabled"]) == (
        TwilioSMS,
        FileSMS,
        DisabledSMS,
    )


def test_disabled_sms_fails_permanently() -> None:
    with pytest.raises(ChannelError) as caught:
        DisabledSMS().send(message())
    assert (caught.value.permanent, caught.value.code) == (True, "disabled")
    assert str(caught.value) == "SMS is disabled"


def test_file_sms_writes_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "outbox" / "sms.jsonl"
    channel = FileSMS(path, clock=lambda: NOW)
    first = channel.send(message(delivery_id=1, valid_until=NOW + timedelta(hours=3)))
    channel.send(message(delivery_id=2))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert first.state == "delivered"
    assert lines[0] == {
        "to": TO,
        "body": "Water off Tue 1 Dec 08:00-12:00. Hotline 12319",
        "delivery_id": 1,
        "recipient_id": "customer:7",
        "language": "en",
        "time": "2026-12-01T00:00:00+00:00",
        "valid_until": "2026-12-01T03:00:00+00:00",
        "provider_id": first.provider_id,
    }
    assert lines[1]["delivery_id"] == 2
    assert lines[1]["valid_until"] is None


def test_file_sms_lines_from_many_threads_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    channel = FileSMS(path)
    long_text = "停水通知 " * 200

    def send_many(start: int) -> None:
        for n in range(start, start + 50):
            channel.send(Message(n, f"customer:{n}", TO, "zh-CN", long_text, valid_until=None))

    threads = [threading.Thread(target=send_many, args=(i * 50,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [json.loads(line)["delivery_id"] for line in path.read_text("utf-8").splitlines()]
    assert sorted(ids) == list(range(400))


def test_file_sms_that_cannot_write_is_a_transient_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(ChannelError) as caught:
        FileSMS(blocker / "sms.jsonl").send(message())
    assert caught.value.permanent is False


# -- through the local fake Twilio server: the real client over real HTTP ------------------


def to_fake(fake: FakeTwilio, **overrides: object) -> TwilioSMS:
    options: dict[str, object] = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "api_base_url": fake.url,
    }
    return twilio(**{**options, **overrides})


def test_integration_send_through_the_fake_server(fake_twilio: FakeTwilio) -> None:
    channel = to_fake(fake_twilio)
    result = channel.send(message(valid_until=NOW + timedelta(hours=1)))
    channel.close()
    [request] = fake_twilio.sent()
    assert request.auth_ok
    assert request.form == {
        "To": TO,
        "Body": "Water off Tue 1 Dec 08:00-12:00. Hotline 12319",
        "MessagingServiceSid": SERVICE,
        "StatusCallback": f"{CALLBACK}?delivery=42",
        "ValidityPeriod": "3600",
    }
    assert result.provider_id == fake_twilio.messages[0]["sid"]
    assert fake_twilio.accepted_count(TO) == 1


def test_integration_wrong_token_is_refused_and_retried(fake_twilio: FakeTwilio) -> None:
    channel = to_fake(fake_twilio, auth_token="wrong")
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    # Every message would fail alike: transient, so fixing the token lets them all go.
    assert (caught.value.code, caught.value.permanent) == ("20003", False)
    assert fake_twilio.accepted_count(TO) == 0


@pytest.mark.parametrize(
    ("code", "flag"), [(21211, "invalid_contact"), (21610, "opted_out"), (30007, None)]
)
def test_integration_scripted_error_for_one_number(
    fake_twilio: FakeTwilio, code: int, flag: str | None
) -> None:
    fake_twilio.fail_number("+8613900000000", code)
    channel = to_fake(fake_twilio)
    channel.send(message())  # another number is unaffected
    with pytest.raises(ChannelError) as caught:
        channel.send(message(to="+8613900000000"))
    assert (caught.value.code, caught.value.flag, caught.value.permanent) == (
        str(code),
        flag,
        True,
    )


def test_integration_429_carries_retry_after(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_percent_429(100, retry_after="4")
    with pytest.raises(ChannelError) as caught:
        to_fake(fake_twilio).send(message())
    assert (caught.value.permanent, caught.value.retry_after) == (False, 4.0)


def test_integration_5xx_storm_then_recovery(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_5xx(requests=2, status=502)
    channel = to_fake(fake_twilio)
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(channel.send(message()).state)
        except ChannelError as exc:
            outcomes.append(f"{exc.code} permanent={exc.permanent}")
    assert outcomes == ["502 permanent=False", "502 permanent=False", "sent"]


def test_integration_timeout_against_a_slow_server(fake_twilio: FakeTwilio) -> None:
    fake_twilio.set_delay(0.5)
    with pytest.raises(ChannelError) as caught:
        to_fake(fake_twilio, timeout=0.05).send(message())
    assert (caught.value.code, caught.value.permanent) == ("timeout", False)


def test_integration_connection_refused_is_transient() -> None:
    with FakeTwilio() as fake:
        url = fake.url
    channel = twilio(api_base_url=url)  # nothing listens there any more
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    assert (caught.value.code, caught.value.permanent) == ("connection", False)


def test_integration_lookup_finds_what_was_sent(fake_twilio: FakeTwilio) -> None:
    channel = to_fake(fake_twilio)
    before = datetime.now(UTC) - timedelta(seconds=1)
    sent = [channel.send(message()).provider_id for _ in range(3)]
    channel.send(message(to="+8613900000001"))
    found = channel.lookup(TO, before)
    assert {m.sid for m in found} == set(sent)
    assert {m.body for m in found} == {message().text}
    assert channel.lookup(TO, datetime.now(UTC) + timedelta(minutes=1)) == []


def test_integration_lookup_finds_a_message_still_queued_at_twilio(
    fake_twilio: FakeTwilio,
) -> None:
    fake_twilio.hold_queued()
    channel = to_fake(fake_twilio)
    before = datetime.now(UTC) - timedelta(seconds=1)
    sid = channel.send(message()).provider_id
    found = channel.lookup(TO, before)
    assert [(m.sid, m.status, m.body) for m in found] == [(sid, "accepted", message().text)]


def test_integration_send_from_many_threads(fake_twilio: FakeTwilio) -> None:
    channel = to_fake(fake_twilio)
    sids: list[str | None] = []
    lock = threading.Lock()

    def send_many(worker: int) -> None:
        for n in range(10):
            result = channel.send(
                message(delivery_id=worker * 100 + n, to=f"+86139000000{worker:02d}")
            )
            with lock:
                sids.append(result.provider_id)

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    channel.close()
    assert len(set(sids)) == 60
    assert all(fake_twilio.accepted_count(f"+86139000000{w:02d}") == 10 for w in range(6))
    callbacks = {r.form["StatusCallback"] for r in fake_twilio.sent()}
    assert len(callbacks) == 60  # each message carried its own delivery id
