"""A local fake of Twilio's Messages API, for tests, benchmarks and crash tests.

It speaks enough of the REST API for the real ``twilio`` client: ``POST .../Messages.json``
(form fields recorded exactly, basic auth checked, a Twilio-shaped JSON body with a fresh
``SM...`` SID), ``GET .../Messages.json?To=&DateSent>=`` and ``GET .../Messages/{sid}.json``.
Faults are scriptable (a share of 429s with ``Retry-After``, a 5xx storm for a number of
requests or some seconds, a Twilio error code for one number, a delay), and every request is
recorded with its arrival time on the monotonic clock, so a test can measure the send rate.

In-process::

    with FakeTwilio() as fake:                   # or the ``fake_twilio`` pytest fixture
        fake.fail_number("+8613800000000", 21211)
        ...  # TwilioSMS(api_base_url=fake.url, account_sid=fake.account_sid, ...)
        assert fake.accepted_count("+8613900000000") == 1

As a process (benchmarks, tests that kill the sender)::

    python -m tests.fake_twilio --port 8765

then script it over HTTP: ``POST /_fake/script`` with a JSON object of faults (the keyword
arguments of :meth:`FakeTwilio.script`), ``POST /_fake/reset``, ``GET /_fake/stats`` (accepted
messages per recipient) and ``GET /_fake/requests`` (every request with its arrival time).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

DEFAULT_ACCOUNT_SID = "AC" + "f" * 32
DEFAULT_AUTH_TOKEN = "fake-auth-token"
API_PREFIX = "/2010-04-01/Accounts/"

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "The 'From' or 'MessagingServiceSid' parameter is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, str]  # the POSTed fields, exactly as sent (last value wins)
    at: float  # arrival time, time.monotonic()
    status: int  # what the fake answered
    auth_ok: bool


@dataclass
class Faults:
    """What the fake does wrong, set by :meth:`FakeTwilio.script`."""

    rate_429_percent: float = 0.0
    retry_after: str | None = "1"
    storm_status: int = 503
    storm_remaining: int = 0
    storm_until: float = 0.0  # monotonic
    error_codes: dict[str, tuple[int, int]] = field(default_factory=dict)  # to: (code, status)
    problem_details: bool = False  # answer errors in RFC 9457 form (TwilioServiceException)
    delay: float = 0.0
    seed: int = 0


class FakeTwilio:
    """A threaded HTTP server on 127.0.0.1 that behaves like Twilio's Messages API."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_base: str | None = None,
    ) -> None:
        """``callback_base`` (e.g. ``http://127.0.0.1:8080``): when set, the fake posts signed
        "sent" and "delivered" status callbacks to each message's ``StatusCallback`` with its
        scheme and host replaced by this base, as a TLS proxy in front of the app would."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_base = callback_base
        self._lock = threading.Lock()
        self._faults = Faults()
        self._random = random.Random(0)
        self._requests: list[RecordedRequest] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._accepted: Counter[str] = Counter()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- running --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever that never ran
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------

    def script(
        self,
        *,
        rate_429_percent: float | None = None,
        retry_after: str | None = None,
        storm_requests: int | None = None,
        storm_seconds: float | None = None,
        storm_status: int | None = None,
        error_codes: dict[str, int | list[int]] | None = None,
        problem_details: bool | None = None,
        delay: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Set faults; arguments left out keep their current value.

        ``error_codes`` maps a recipient to a Twilio code, or to ``[code, http_status]``.
        """
        with self._lock:
            f = self._faults
            if rate_429_percent is not None:
                f.rate_429_percent = rate_429_percent
            if retry_after is not None:
                f.retry_after = retry_after or None
            if storm_status is not None:
                f.storm_status = storm_status
            if storm_requests is not None:
                f.storm_remaining = storm_requests
            if storm_seconds is not None:
                f.storm_until = time.monotonic() + storm_seconds
            if error_codes is not None:
                for to, value in error_codes.items():
                    code, status = value if isinstance(value, list) else (value, 400)
                    f.error_codes[to] = (int(code), int(status))
            if problem_details is not None:
                f.problem_details = problem_details
            if delay is not None:
                f.delay = delay
            if seed is not None:
                f.seed = seed
                self._random = random.Random(seed)

    def fail_percent_429(self, percent: float, retry_after: str = "1", seed: int = 0) -> None:
        self.script(rate_429_percent=percent, retry_after=retry_after, seed=seed)

    def fail_5xx(
        self, *, requests: int | None = None, seconds: float | None = None, status: int = 503
    ) -> None:
        self.script(storm_requests=requests, storm_seconds=seconds, storm_status=status)

    def fail_number(self, to: str, code: int, status: int = 400) -> None:
        self.script(error_codes={to: [code, status]})

    def set_delay(self, seconds: float) -> None:
        self.script(delay=seconds)

    def reset(self) -> None:
        """Forget every fault, request and message."""
        with self._lock:
            self._faults = Faults()
            self._random = random.Random(0)
            self._requests.clear()
            self._messages.clear()
            self._accepted.clear()

    # -- observing ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def sent(self) -> list[RecordedRequest]:
        """The accepted message-create requests, in arrival order."""
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.path.endswith("/Messages.json") and r.status == 201
        ]

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages.values()]

    def accepted_count(self, to: str) -> int:
        with self._lock:
            return self._accepted[to]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": len(self._requests),
                "messages": len(self._messages),
                "accepted": dict(self._accepted),
            }

    def status_callback(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The signed status callback Twilio would send: ``(url, form, headers)``."""
        with self._lock:
            message = dict(self._messages[sid])
        target = url or message["status_callback"]
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.get("from") or "",
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(target, form)
        return target, form, {"X-Twilio-Signature": signature}

    # -- serving --------------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _fault_for(self, to: str | None) -> tuple[int, int, dict[str, str]] | None:
        """(status, code, headers) of a scripted failure for this request, if any."""
        with self._lock:
            f = self._faults
            now = time.monotonic()
            if f.storm_remaining > 0:
                f.storm_remaining -= 1
                return f.storm_status, f.storm_status, {}
            if now < f.storm_until:
                return f.storm_status, f.storm_status, {}
            if f.rate_429_percent and self._random.random() * 100 < f.rate_429_percent:
                headers = {"Retry-After": f.retry_after} if f.retry_after else {}
                return 429, 20429, headers
            if to is not None and to in f.error_codes:
                code, status = f.error_codes[to]
                return status, code, {}
        return None

    def _create(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        for name, code in (("To", 21604), ("Body", 21602)):
            if not form.get(name):
                return 400, self._error_body(code, 400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, self._error_body(21603, 400)
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        via_service = bool(form.get("MessagingServiceSid"))
        message = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": format_datetime(now, usegmt=True),
            "date_sent": None,
            "date_updated": format_datetime(now, usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if via_service else "queued",
            "subresource_uris": {"media": f"{API_PREFIX}{account}/Messages/{sid}/Media.json"},
            "to": form["To"],
            "uri": f"{API_PREFIX}{account}/Messages/{sid}.json",
            "status_callback": form.get("StatusCallback"),
            "validity_period": form.get("ValidityPeriod"),
            "_created": now,
        }
        with self._lock:
            self._messages[sid] = message
            self._accepted[form["To"]] += 1
        body = {k: v for k, v in message.items() if not k.startswith("_")}
        body.pop("status_callback")
        body.pop("validity_period")
        if self.callback_base and message["status_callback"]:
            threading.Thread(target=self._call_back, args=(sid,), daemon=True).start()
        return 201, body

    def _call_back(self, sid: str) -> None:
        for status in ("sent", "delivered"):
            public, form, headers = self.status_callback(sid, status)
            parts = urlsplit(public)
            local = f"{self.callback_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            try:
                requests.post(local, data=form, headers=headers, timeout=5)
            except requests.RequestException:
                return

    def _as_sent(self, message: dict[str, Any]) -> dict[str, Any]:
        """A stored message as a later GET sees it: handed to the carrier."""
        body = {k: v for k, v in message.items() if not k.startswith("_")}
        body.pop("status_callback", None)
        body.pop("validity_period", None)
        body["status"] = "sent"
        body["date_sent"] = body["date_created"]
        return body

    def _list(self, account: str, query: dict[str, list[str]]) -> dict[str, Any]:
        to = query.get("To", [None])[0]
        after = query.get("DateSent>", [None])[0]
        before = query.get("DateSent<", [None])[0]
        on = query.get("DateSent", [None])[0]
        with self._lock:
            stored = sorted(self._messages.values(), key=lambda m: m["_created"], reverse=True)
        found = []
        for message in stored:
            sent_on: datetime = message["_created"]
            if to and message["to"] != to:
                continue
            if after and sent_on < _parse_date(after):
                continue
            if before and sent_on >= _parse_date(before, end_of_day=True):
                continue
            if on and sent_on.date() != _parse_date(on).date():
                continue
            found.append(self._as_sent(message))
        size = int(query.get("PageSize", ["50"])[0])
        page = int(query.get("Page", ["0"])[0])
        chunk = found[page * size : (page + 1) * size]
        uri = f"{API_PREFIX}{account}/Messages.json"
        has_next = (page + 1) * size < len(found)
        next_uri = f"{uri}?PageSize={size}&Page={page + 1}" + (f"&To={to}" if to else "")
        return {
            "messages": chunk,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + len(chunk) - 1 if chunk else 0,
            "uri": uri,
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "previous_page_uri": None,
            "next_page_uri": next_uri if has_next else None,
        }

    def _error_body(self, code: int, status: int) -> dict[str, Any]:
        message = _ERROR_MESSAGES.get(code, "Error")
        info = f"https://www.twilio.com/docs/errors/{code}"
        with self._lock:
            rfc9457 = self._faults.problem_details
        if rfc9457:
            return {"type": info, "title": message, "status": status, "code": code}
        return {"code": code, "message": message, "more_info": info, "status": status}

    def _check_auth(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, Any] | list[Any], dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers)."""
        arrived = time.monotonic()
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/_fake/"):
            return self._control(method, path, raw_body)
        pairs = parse_qs(raw_body.decode(), keep_blank_values=True) if raw_body else {}
        form = {name: values[-1] for name, values in pairs.items()}
        auth_ok = self._check_auth(headers.get("authorization"))
        status, body, extra = self._route(method, path, query, form, auth_ok)
        self._record(RecordedRequest(method, path, query, form, arrived, status, auth_ok))
        return status, body, extra

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, str],
        auth_ok: bool,
    ) -> tuple[int, dict[str, Any] | list[Any], dict[str, str]]:
        with self._lock:
            delay = self._faults.delay
        if delay:
            time.sleep(delay)  # a slow provider, for timeout and throughput tests
        if not path.startswith(API_PREFIX):
            return 404, {"code": 20404, "message": "The requested resource was not found"}, {}
        account, _, rest = path[len(API_PREFIX) :].partition("/")
        if account != self.account_sid or not auth_ok:
            return 401, self._error_body(20003, 401), {}
        to = form.get("To") if method == "POST" else None
        fault = self._fault_for(to)
        if fault is not None:
            status, code, extra = fault
            return status, self._error_body(code, status), extra
        if method == "POST" and rest == "Messages.json":
            status, body = self._create(account, form)
            return status, body, {}
        if method == "GET" and rest == "Messages.json":
            return 200, self._list(account, query), {}
        if method == "GET" and rest.startswith("Messages/") and rest.endswith(".json"):
            sid = rest[len("Messages/") : -len(".json")]
            with self._lock:
                message = self._messages.get(sid)
            if message is None:
                return 404, self._error_body(20404, 404), {}
            return 200, self._as_sent(message), {}
        return 404, self._error_body(20404, 404), {}

    def _control(
        self, method: str, path: str, raw_body: bytes
    ) -> tuple[int, dict[str, Any] | list[Any], dict[str, str]]:
        if method == "GET" and path == "/_fake/stats":
            return 200, self.stats(), {}
        if method == "GET" and path == "/_fake/requests":
            return 200, [asdict(r) for r in self.requests], {}
        if method == "POST" and path == "/_fake/reset":
            self.reset()
            return 200, {"reset": True}, {}
        if method == "POST" and path == "/_fake/script":
            try:
                self.script(**json.loads(raw_body.decode() or "{}"))
            except (TypeError, ValueError) as exc:
                return 400, {"error": str(exc)}, {}
            return 200, {"scripted": True}, {}
        return 404, {"error": "unknown control endpoint"}, {}


def _parse_date(value: str, *, end_of_day: bool = False) -> datetime:
    """Twilio's ``DateSent`` filters: ``YYYY-MM-DD`` or a full ``...THH:MM:SSZ``."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return moment.replace(hour=23, minute=59, second=59) if end_of_day else moment
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API
        # Headers and body go out in two writes: without TCP_NODELAY the second waits for
        # the client's delayed ACK, 40 ms a request.
        disable_nagle_algorithm = True

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = fake.handle(method, self.path, headers, raw)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the recorded requests are the log."""

    return Handler


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeTwilio]:
    """A started fake, stopped afterwards."""
    fake = FakeTwilio(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


def main(argv: list[str] | None = None, *, ready: Callable[[str], None] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_twilio", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument(
        "--callback-base", default=None, help="post status callbacks to this local base URL"
    )
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        host=args.host,
        port=args.port,
        callback_base=args.callback_base,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake.start()
    print(f"fake Twilio listening on {fake.url}", flush=True)
    if ready is not None:
        ready(fake.url)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
