from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from channels.base import ChannelError, Message
from channels.voice import (
    BACKENDS,
    DisabledVoice,
    FileVoice,
    Speaker,
    TwilioVoice,
    call_twiml,
)
from tests.channels.twilio_failures import failure_table, twilio_error
from tests.fake_twilio import FakeTwilio

SID = "AC" + "1" * 32
TOKEN = "secret-token"
CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
CALLBACK = "https://outages.example.org/twilio/voice"
TO = "+862088776655"
FROM = "+15005550006"
SPEAKERS = {
    "zh-CN": Speaker(voice="Polly.Zhiyu", language="cmn-CN"),
    "en": Speaker(voice="Polly.Joanna", language="en-US"),
}
TEXT = "City Water: water off Tuesday 08:00 to 12:00. Press 1 to confirm."


def message(*, delivery_id: int = 42, to: str = TO, language: str = "en") -> Message:
    return Message(
        delivery_id=delivery_id,
        recipient_id="customer:7",
        address=to,
        language=language,
        text=TEXT,
    )


def twilio(**overrides: object) -> TwilioVoice:
    options: dict[str, object] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from_number": FROM,
        "speakers": SPEAKERS,
        "callback_url": CALLBACK,
        "clock": lambda: NOW,
    }
    options.update(overrides)
    return TwilioVoice(**options)  # type: ignore[arg-type]


def form_of(call: responses.Call) -> dict[str, list[str]]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return parse_qs(text, keep_blank_values=True)


def created(sid: str = "CA" + "a" * 32) -> dict[str, object]:
    return {"sid": sid, "status": "queued", "to": TO, "account_sid": SID}


def say_of(twiml: str) -> ET.Element:
    say = ET.fromstring(twiml).find(".//Say")
    assert say is not None
    return say


@responses.activate
def test_send_places_a_call_with_machine_detection_and_callbacks() -> None:
    responses.post(CALLS_URL, json=created(), status=201)
    result = twilio().send(message())
    form = form_of(responses.calls[0])
    assert form["To"] == [TO]
    assert form["From"] == [FROM]
    assert form["MachineDetection"] == ["DetectMessageEnd"]
    assert form["StatusCallback"] == [f"{CALLBACK}?delivery=42&event=status"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert form["Timeout"] == ["30"]
    assert (result.provider_id, result.state) == ("CA" + "a" * 32, "sent")
    twiml = ET.fromstring(form["Twiml"][0])
    gather = twiml.find("Gather")
    assert gather is not None
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["action"] == f"{CALLBACK}?delivery=42&event=gather"
    assert twiml[-1].tag == "Hangup"


@pytest.mark.parametrize(
    ("language", "voice", "spoken"),
    [
        ("zh-CN", "Polly.Zhiyu", "cmn-CN"),
        ("en", "Polly.Joanna", "en-US"),
        ("fr", "Polly.Zhiyu", "cmn-CN"),
    ],
)
def test_the_call_speaks_the_recipients_language(language: str, voice: str, spoken: str) -> None:
    say = say_of(twilio().twiml(message(language=language)))
    assert (say.attrib["voice"], say.attrib["language"], say.text) == (voice, spoken, TEXT)


def test_without_a_callback_url_there_is_no_gather() -> None:
    twiml = call_twiml(TEXT, SPEAKERS["en"], gather_url=None)
    assert ET.fromstring(twiml).find("Gather") is None
    assert say_of(twiml).text == TEXT


@responses.activate
def test_credentials_come_from_arguments_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "9" * 32)
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    responses.post(CALLS_URL, json=created(), status=201)
    twilio().send(message())
    assert responses.calls[0].request.url == CALLS_URL


@responses.activate
@pytest.mark.parametrize(("answer", "permanent", "code"), failure_table(rejected=21215))
def test_shared_failure_table(answer: dict[str, Any], permanent: bool, code: str) -> None:
    responses.post(CALLS_URL, **answer)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert caught.value.permanent is permanent
    assert caught.value.code == code


@responses.activate
@pytest.mark.parametrize("code", [13224, 21211, 21217])
def test_an_uncallable_number_is_flagged_invalid(code: int) -> None:
    responses.post(CALLS_URL, json=twilio_error(400, code), status=400)
    with pytest.raises(ChannelError) as caught:
        twilio().send(message())
    assert (caught.value.permanent, caught.value.flag) == (True, "invalid_contact")
    assert TO not in caught.value.reason


@pytest.mark.parametrize(
    "missing", [{"account_sid": ""}, {"auth_token": ""}, {"from_number": ""}, {"speakers": {}}]
)
def test_twilio_needs_credentials_a_number_and_a_speaker(missing: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        twilio(**missing)


def test_backends_are_a_plain_registry() -> None:
    assert {"twilio": TwilioVoice, "file": FileVoice, "disabled": DisabledVoice} == BACKENDS


def test_disabled_voice_fails_permanently() -> None:
    with pytest.raises(ChannelError) as caught:
        DisabledVoice().send(message())
    assert (caught.value.permanent, caught.value.code) == (True, "disabled")


def test_file_voice_writes_each_calls_twiml(tmp_path: Path) -> None:
    channel = FileVoice(tmp_path / "calls", speakers=SPEAKERS, callback_url=CALLBACK)
    result = channel.send(message(language="zh-CN"))
    [line] = (tmp_path / "calls" / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["provider_id"] == result.provider_id
    assert result.state == "delivered"
    twiml = (tmp_path / "calls" / record["twiml"]).read_text(encoding="utf-8")
    assert say_of(twiml).attrib["voice"] == "Polly.Zhiyu"


def test_file_voice_that_cannot_write_is_a_transient_error(tmp_path: Path) -> None:
    blocker = tmp_path / "calls"
    blocker.write_text("a file where the directory belongs")
    with pytest.raises(ChannelError) as caught:
        FileVoice(blocker, speakers=SPEAKERS).send(message())
    assert (caught.value.permanent, caught.value.code) == (False, "file")


# -- against the fake Twilio ----------------------------------------------------------------


def to_fake(fake: FakeTwilio, **overrides: object) -> TwilioVoice:
    options = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "api_base_url": fake.url,
    }
    return twilio(**{**options, **overrides})


def test_integration_call_through_the_fake_server(fake_twilio: FakeTwilio) -> None:
    channel = to_fake(fake_twilio)
    result = channel.send(message())
    [request] = fake_twilio.placed()
    assert request.auth_ok
    assert request.form["MachineDetection"] == "DetectMessageEnd"
    assert result.provider_id == fake_twilio.calls[0]["sid"]
    assert channel.fetch(result.provider_id or "").status == "queued"
    [found] = channel.recent_calls(TO, NOW - timedelta(days=1))
    assert found.sid == result.provider_id
    channel.close()


@pytest.mark.parametrize(
    ("how", "final", "answered_by"),
    [
        ("human", "completed", "human"),
        ("machine", "completed", "machine_end_beep"),
        ("busy", "busy", ""),
        ("no-answer", "no-answer", ""),
    ],
)
def test_integration_amd_outcomes_in_the_callbacks(
    fake_twilio: FakeTwilio, how: str, final: str, answered_by: str
) -> None:
    fake_twilio.answer(TO, how)
    result = to_fake(fake_twilio).send(message())
    events = fake_twilio.call_events(result.provider_id or "")
    statuses = [form["CallStatus"] for _url, form, _headers in events]
    assert statuses[:2] == ["initiated", "ringing"]
    _url, last, _headers = events[-1]
    assert (last["CallStatus"], last.get("AnsweredBy", "")) == (final, answered_by)
    assert to_fake(fake_twilio).fetch(result.provider_id or "").answered_by == answered_by


def test_integration_scripted_error_and_429(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_number("+862000000000", 21217)
    with pytest.raises(ChannelError) as caught:
        to_fake(fake_twilio).send(message(to="+862000000000"))
    assert caught.value.flag == "invalid_contact"
    fake_twilio.fail_percent_429(100, retry_after="4")
    with pytest.raises(ChannelError) as caught:
        to_fake(fake_twilio).send(message())
    assert (caught.value.permanent, caught.value.retry_after) == (False, 4.0)


def test_integration_timeout_against_a_slow_server(fake_twilio: FakeTwilio) -> None:
    fake_twilio.set_delay(0.5)
    with pytest.raises(ChannelError) as caught:
        to_fake(fake_twilio, timeout=0.05).send(message())
    assert (caught.value.code, caught.value.permanent) == ("timeout", False)
