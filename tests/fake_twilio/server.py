"""The fake's HTTP side: routing, basic auth, the request log, status callbacks, control."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

from tests.fake_twilio.calls import CallStore
from tests.fake_twilio.faults import FaultScript
from tests.fake_twilio.messages import API_PREFIX, MessageStore, error_body

DEFAULT_ACCOUNT_SID = "AC" + "f" * 32
DEFAULT_AUTH_TOKEN = "fake-auth-token"

Answer = tuple[int, dict[str, Any] | list[Any], dict[str, str]]  # status, JSON, headers


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, str]  # the POSTed fields, exactly as sent (last value wins)
    at: float  # arrival time, time.monotonic()
    status: int  # what the fake answered
    auth_ok: bool


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
        self.faults = FaultScript()
        self.store = MessageStore()
        self.call_store = CallStore()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._server = _QuietServer((host, port), _handler_for(self))
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

    # -- scripting (see FaultScript.script for every knob) --------------------------------

    def script(self, **faults: Any) -> None:
        self.faults.script(**faults)

    def fail_percent_429(self, percent: float, retry_after: str = "1", seed: int = 0) -> None:
        self.faults.script(rate_429_percent=percent, retry_after=retry_after, seed=seed)

    def fail_5xx(
        self, *, requests: int | None = None, seconds: float | None = None, status: int = 503
    ) -> None:
        self.faults.script(storm_requests=requests, storm_seconds=seconds, storm_status=status)

    def fail_number(self, to: str, code: int, status: int = 400) -> None:
        self.faults.script(error_codes={to: [code, status]})

    def set_delay(self, seconds: float) -> None:
        self.faults.script(delay=seconds)

    def hold_queued(self, hold: bool = True) -> None:
        """Keep accepted messages queued (no DateSent) until :meth:`release`."""
        self.faults.script(hold_queued=hold)

    def release(self) -> int:
        """Hand every held message to the carrier now; how many."""
        return self.store.release()

    def reset(self) -> None:
        """Forget every fault, request and message."""
        self.faults.reset()
        self.store.reset()
        self.call_store.reset()
        with self._lock:
            self._requests.clear()

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
        return self.store.all()

    def accepted_count(self, to: str) -> int:
        return self.store.accepted_count(to)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.call_store.all()

    def placed(self) -> list[RecordedRequest]:
        """The accepted call-create requests, in arrival order."""
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.path.endswith("/Calls.json") and r.status == 201
        ]

    def answer(self, to: str, how: str) -> None:
        """How calls to ``to`` end: human, machine, fax, busy, no-answer or failed."""
        self.call_store.answer(to, how)

    def call_status_callback(
        self, sid: str, status: str, *, answered_by: str = "", url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The signed call status callback Twilio would send: ``(url, form, headers)``."""
        call = self.call_store.get(sid)
        if call is None:
            raise KeyError(f"no call {sid}")
        target = url or call["_status_callback"]
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call["from"],
            "To": call["to"],
        }
        if answered_by:
            form["AnsweredBy"] = answered_by
        signature = RequestValidator(self.auth_token).compute_signature(target, form)
        return target, form, {"X-Twilio-Signature": signature}

    def call_events(self, sid: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        """The signed callbacks of a call's life as its number's script says, in order."""
        call = self.call_store.finish(sid)
        if call is None:
            raise KeyError(f"no call {sid}")
        events = [self.call_status_callback(sid, s) for s in ("initiated", "ringing")]
        if call["status"] == "completed":
            events.append(self.call_status_callback(sid, "in-progress"))
        answered_by = call["answered_by"] or ""
        events.append(self.call_status_callback(sid, call["status"], answered_by=answered_by))
        return events

    def stats(self) -> dict[str, Any]:
        messages = self.store.accepted()
        return {
            "requests": len(self.requests),
            "messages": sum(messages.values()),
            "accepted": messages,
        }

    def status_callback(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The signed status callback Twilio would send: ``(url, form, headers)``."""
        message = self.store.get(sid)
        if message is None:
            raise KeyError(f"no message {sid}")
        target = url or message["_status_callback"]
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

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> Answer:
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
        with self._lock:
            self._requests.append(
                RecordedRequest(method, path, query, form, arrived, status, auth_ok)
            )
        return status, body, extra

    def _check_auth(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _error(self, code: int, status: int) -> dict[str, Any]:
        return error_body(code, status, rfc9457=self.faults.problem_details)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, str],
        auth_ok: bool,
    ) -> Answer:
        delay = self.faults.delay
        if delay:
            time.sleep(delay)  # a slow provider, for timeout and throughput tests
        if not path.startswith(API_PREFIX):
            return 404, self._error(20404, 404), {}
        account, _, rest = path[len(API_PREFIX) :].partition("/")
        if account != self.account_sid or not auth_ok:
            return 401, self._error(20003, 401), {}
        failure = self.faults.failure_for(form.get("To") if method == "POST" else None)
        if failure is not None:
            status, code, extra = failure
            return status, self._error(code, status), extra
        if method == "POST" and rest == "Messages.json":
            status, body = self.store.create(account, form, queue_seconds=self.faults.queue_seconds)
            if self.faults.response_delay:
                time.sleep(self.faults.response_delay)
            queued = self.faults.queue_seconds != 0.0  # no "sent" callback before it is sent
            if status == 201 and self.callback_base and form.get("StatusCallback") and not queued:
                threading.Thread(target=self._call_back, args=(body["sid"],), daemon=True).start()
            return status, body, {}
        if method == "POST" and rest == "Calls.json":
            status, body = self.call_store.create(account, form)
            if status == 201 and self.callback_base and form.get("StatusCallback"):
                threading.Thread(target=self._call_events, args=(body["sid"],), daemon=True).start()
            return status, body, {}
        if method == "GET" and rest == "Calls.json":
            return 200, self.call_store.page(account, query), {}
        if method == "GET" and rest.startswith("Calls/") and rest.endswith(".json"):
            call = self.call_store.fetch(rest[len("Calls/") : -len(".json")])
            if call is None:
                return 404, self._error(20404, 404), {}
            return 200, call, {}
        if method == "GET" and rest == "Messages.json":
            lookup_failure = self.faults.lookup_failure()
            if lookup_failure is not None:
                status, code, extra = lookup_failure
                return status, self._error(code, status), extra
            return 200, self.store.page(account, query), {}
        if method == "GET" and rest.startswith("Messages/") and rest.endswith(".json"):
            message = self.store.fetch(rest[len("Messages/") : -len(".json")])
            if message is None:
                return 404, self._error(20404, 404), {}
            return 200, message, {}
        return 404, self._error(20404, 404), {}

    def _call_back(self, sid: str) -> None:
        self._post_all([self.status_callback(sid, s) for s in ("sent", "delivered")])

    def _call_events(self, sid: str) -> None:
        self._post_all(self.call_events(sid))

    def _post_all(self, callbacks: list[tuple[str, dict[str, str], dict[str, str]]]) -> None:
        for public, form, headers in callbacks:
            parts = urlsplit(public)
            local = f"{self.callback_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            try:
                requests.post(local, data=form, headers=headers, timeout=5)
            except requests.RequestException:
                return

    def _control(self, method: str, path: str, raw_body: bytes) -> Answer:
        if method == "GET" and path == "/_fake/stats":
            return 200, self.stats(), {}
        if method == "GET" and path == "/_fake/requests":
            return 200, [asdict(r) for r in self.requests], {}
        if method == "POST" and path == "/_fake/release":
            return 200, {"released": self.release()}, {}
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


class _QuietServer(ThreadingHTTPServer):
    """Clients that vanish mid-request (a killed sender) are expected here: no traceback on
    stderr, where it would land in whichever test is capturing output at the time."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


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
