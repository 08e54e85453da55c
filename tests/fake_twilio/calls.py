"""The fake's store of placed calls (Twilio's Calls API) and the JSON Twilio answers with.

A call is created ``queued``; how it ends is scripted per number (:meth:`CallStore.answer`):
answered by a human, by a machine after its beep, busy, no answer. The fake's status
callbacks then walk it through ``initiated``, ``ringing`` and its end, as Twilio does.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from tests.fake_twilio.messages import API_PREFIX, error_body

# How a scripted call ends: (final CallStatus, AnsweredBy).
ENDINGS = {
    "human": ("completed", "human"),
    "machine": ("completed", "machine_end_beep"),
    "fax": ("completed", "fax"),
    "busy": ("busy", ""),
    "no-answer": ("no-answer", ""),
    "failed": ("failed", ""),
}


class CallStore:
    """Placed calls by SID, how many each number got, and how each number answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, dict[str, Any]] = {}
        self._placed: Counter[str] = Counter()
        self._answers: dict[str, str] = {}

    def answer(self, to: str, how: str) -> None:
        """Script how calls to ``to`` end: a key of ``ENDINGS`` (default ``human``)."""
        if how not in ENDINGS:
            raise ValueError(f"unknown ending {how!r} (one of {', '.join(ENDINGS)})")
        with self._lock:
            self._answers[to] = how

    def ending(self, to: str) -> tuple[str, str]:
        with self._lock:
            return ENDINGS[self._answers.get(to, "human")]

    def create(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Validate and store one call: (201, its JSON) or (400, Twilio's error)."""
        if not form.get("To"):
            return 400, error_body(21201, 400)
        if not form.get("From"):
            return 400, error_body(21213, 400)
        if not (form.get("Twiml") or form.get("Url") or form.get("ApplicationSid")):
            return 400, error_body(21205, 400)
        now = datetime.now(UTC)
        sid = "CA" + uuid.uuid4().hex
        stamp = format_datetime(now, usegmt=True)
        call: dict[str, Any] = {
            "account_sid": account,
            "answered_by": None,
            "api_version": "2010-04-01",
            "date_created": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "from": form["From"],
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "to": form["To"],
            "uri": f"{API_PREFIX}{account}/Calls/{sid}.json",
            # Not in Twilio's JSON: kept for callbacks and for tests to read.
            "_twiml": form.get("Twiml"),
            "_machine_detection": form.get("MachineDetection"),
            "_status_callback": form.get("StatusCallback"),
            "_created": now,
        }
        with self._lock:
            self._calls[sid] = call
            self._placed[form["To"]] += 1
        return 201, _public(call)

    def finish(self, sid: str) -> dict[str, Any] | None:
        """End the call as its number's script says; the stored call, or None."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None:
                return None
            status, answered_by = ENDINGS[self._answers.get(call["to"], "human")]
            call["status"] = status
            # AnsweredBy is only reported when machine detection was asked for.
            if call["_machine_detection"] and status == "completed":
                call["answered_by"] = answered_by
            return dict(call)

    def get(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            call = self._calls.get(sid)
            return dict(call) if call is not None else None

    def fetch(self, sid: str) -> dict[str, Any] | None:
        call = self.get(sid)
        return _public(call) if call is not None else None

    def page(self, account: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """``GET .../Calls.json``: filtered by ``To`` and ``StartTime>``, newest first."""
        to = query.get("To", [None])[0]
        after = query.get("StartTime>", [None])[0]
        with self._lock:
            stored = sorted(self._calls.values(), key=lambda c: c["_created"], reverse=True)
        found = []
        for call in stored:
            if to and call["to"] != to:
                continue
            if after and call["_created"] < datetime.fromisoformat(after.replace("Z", "+00:00")):
                continue
            found.append(_public(call))
        size = int(query.get("PageSize", ["50"])[0])
        uri = f"{API_PREFIX}{account}/Calls.json"
        return {
            "calls": found[:size],
            "page": 0,
            "page_size": size,
            "start": 0,
            "end": max(0, min(size, len(found)) - 1),
            "uri": uri,
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "previous_page_uri": None,
            "next_page_uri": None,
        }

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._calls.values()]

    def placed_count(self, to: str) -> int:
        with self._lock:
            return self._placed[to]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._placed.clear()
            self._answers.clear()


def _public(call: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in call.items() if not k.startswith("_")}
