"""The fake Twilio server itself: others build tests and benchmarks on it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
import requests
from twilio.request_validator import RequestValidator

from channels.base import ChannelError, Message
from channels.sms import TwilioSMS
from tests.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

REPO = Path(__file__).resolve().parents[1]
TO = "+8613800138000"


def channel(fake: FakeTwilio, **overrides: Any) -> TwilioSMS:
    options: dict[str, Any] = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "from_number": "+15005550006",
        "api_base_url": fake.url,
        "status_callback_url": "https://outages.example.org/twilio/status",
        **overrides,
    }
    return TwilioSMS(**options)


def text(n: int = 1, to: str = TO) -> Message:
    return Message(n, f"customer:{n}", to, "en", "Water off tomorrow 08:00-12:00")


def outcomes(sms: TwilioSMS, count: int) -> list[str]:
    found = []
    for n in range(count):
        try:
            found.append(sms.send(text(n)).state)
        except ChannelError as exc:
            found.append(str(exc.code))
    return found


def test_requests_are_recorded_with_monotonic_arrival_times(fake_twilio: FakeTwilio) -> None:
    sms = channel(fake_twilio)
    outcomes(sms, 5)
    times = [r.at for r in fake_twilio.requests]
    assert len(times) == 5
    assert times == sorted(times)
    assert all(r.auth_ok for r in fake_twilio.requests)


def test_a_share_of_429s_is_reproducible(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_percent_429(50, seed=7)
    first = outcomes(channel(fake_twilio), 40)
    fake_twilio.reset()
    fake_twilio.fail_percent_429(50, seed=7)
    second = outcomes(channel(fake_twilio), 40)
    assert first == second
    assert 8 < first.count("20429") < 32
    assert fake_twilio.accepted_count(TO) == first.count("sent")


def test_a_5xx_storm_for_a_time(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_5xx(seconds=60, status=500)
    assert outcomes(channel(fake_twilio), 3) == ["500", "500", "500"]
    fake_twilio.fail_5xx(seconds=0)
    assert outcomes(channel(fake_twilio), 1) == ["sent"]


def test_missing_fields_are_refused_like_twilio(fake_twilio: FakeTwilio) -> None:
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    url = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    cases = [({"Body": "x", "From": "+1"}, 21604), ({"To": TO, "From": "+1"}, 21602)]
    cases.append(({"To": TO, "Body": "x"}, 21603))
    for form, code in cases:
        response = requests.post(url, data=form, auth=auth, timeout=5)
        assert (response.status_code, response.json()["code"]) == (400, code)


def test_fetch_one_message_and_stats(fake_twilio: FakeTwilio) -> None:
    sid = channel(fake_twilio).send(text()).provider_id
    base = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}"
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    fetched = requests.get(f"{base}/Messages/{sid}.json", auth=auth, timeout=5).json()
    assert (fetched["sid"], fetched["status"], fetched["to"]) == (sid, "sent", TO)
    missing = requests.get(f"{base}/Messages/SMnope.json", auth=auth, timeout=5)
    assert missing.status_code == 404
    stats = requests.get(f"{fake_twilio.url}/_fake/stats", timeout=5).json()
    assert stats["accepted"] == {TO: 1}


def test_queued_messages_have_no_date_sent_and_escape_date_sent_filters(
    fake_twilio: FakeTwilio,
) -> None:
    fake_twilio.hold_queued()
    sid = channel(fake_twilio).send(text()).provider_id
    base = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}"
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)

    def listed(**query: str) -> list[dict[str, Any]]:
        page = requests.get(f"{base}/Messages.json", params=query, auth=auth, timeout=5)
        return list(page.json()["messages"])

    fetched = requests.get(f"{base}/Messages/{sid}.json", auth=auth, timeout=5).json()
    assert (fetched["status"], fetched["date_sent"]) == ("queued", None)
    assert [m["sid"] for m in listed(To=TO)] == [sid]
    assert listed(To=TO, **{"DateSent>": "2000-01-01"}) == []
    assert fake_twilio.release() == 1
    [sent] = listed(To=TO, **{"DateSent>": "2000-01-01"})
    assert (sent["sid"], sent["status"]) == (sid, "sent")
    assert sent["date_sent"] is not None


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, str], str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.received.append((self.path, form, self.headers["X-Twilio-Signature"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.received
    server.shutdown()
    server.server_close()
    thread.join()


def test_status_callbacks_go_to_a_local_base_signed_for_the_public_url(
    receiver: tuple[str, list[tuple[str, dict[str, str], str]]],
) -> None:
    base, received = receiver
    with FakeTwilio(callback_base=base) as fake:
        sms = channel(fake)
        sid = sms.send(text(9)).provider_id
        sms.close()
        for _ in range(200):  # the callbacks are posted from a thread of the fake
            if len(received) == 2:
                break
            threading.Event().wait(0.01)
    assert [form["MessageStatus"] for _, form, _ in received] == ["sent", "delivered"]
    validator = RequestValidator(fake.auth_token)
    for path, form, signature in received:
        assert path == "/twilio/status?delivery=9"
        assert form["MessageSid"] == sid
        public = f"https://outages.example.org{path}"
        assert validator.validate(public, form, signature)


def test_runs_as_a_separate_process_scripted_over_http() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_twilio", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        script = {"error_codes": {"+8613900000000": 21211}}
        response = requests.post(f"{url}/_fake/script", data=json.dumps(script), timeout=5)
        assert response.status_code == 200
        sms = TwilioSMS(
            account_sid=DEFAULT_ACCOUNT_SID,
            auth_token=DEFAULT_AUTH_TOKEN,
            from_number="+15005550006",
            api_base_url=url,
        )
        sms.send(text())
        with pytest.raises(ChannelError) as caught:
            sms.send(text(2, to="+8613900000000"))
        assert caught.value.code == "21211"
        stats = requests.get(f"{url}/_fake/stats", timeout=5).json()
        assert stats["accepted"] == {TO: 1}
        recorded = requests.get(f"{url}/_fake/requests", timeout=5).json()
        assert [r["status"] for r in recorded] == [201, 400]
        assert requests.post(f"{url}/_fake/release", timeout=5).json() == {"released": 0}
        assert requests.post(f"{url}/_fake/reset", timeout=5).json() == {"reset": True}
        assert requests.get(f"{url}/_fake/stats", timeout=5).json()["requests"] == 0
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
