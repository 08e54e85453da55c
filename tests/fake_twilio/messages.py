"""The fake's store of accepted messages and the JSON Twilio answers with."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

API_PREFIX = "/2010-04-01/Accounts/"

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
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


def error_body(code: int, status: int, *, rfc9457: bool = False) -> dict[str, Any]:
    """Twilio's error JSON: the legacy shape, or RFC 9457 problem details."""
    message = ERROR_MESSAGES.get(code, "Error")
    info = f"https://www.twilio.com/docs/errors/{code}"
    if rfc9457:
        return {"type": info, "title": message, "status": status, "code": code}
    return {"code": code, "message": message, "more_info": info, "status": status}


def parse_date(value: str, *, end_of_day: bool = False) -> datetime:
    """Twilio's ``DateSent`` filters: ``YYYY-MM-DD`` or a full ``...THH:MM:SSZ``."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return moment.replace(hour=23, minute=59, second=59) if end_of_day else moment
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class MessageStore:
    """Accepted messages by SID, and how many each recipient got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, dict[str, Any]] = {}
        self._accepted: Counter[str] = Counter()

    def create(
        self, account: str, form: dict[str, str], *, queue_seconds: float | None = 0.0
    ) -> tuple[int, dict[str, Any]]:
        """Validate and store one message: (201, its JSON) or (400, Twilio's error).

        The message stays queued at Twilio (no ``date_sent``) for ``queue_seconds``; None
        keeps it queued until :meth:`release` hands it to the carrier.
        """
        for name, code in (("To", 21604), ("Body", 21602)):
            if not form.get(name):
                return 400, error_body(code, 400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, error_body(21603, 400)
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        stamp = format_datetime(now, usegmt=True)
        message: dict[str, Any] = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
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
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{API_PREFIX}{account}/Messages/{sid}/Media.json"},
            "to": form["To"],
            "uri": f"{API_PREFIX}{account}/Messages/{sid}.json",
            # Not in Twilio's JSON: kept for callbacks and for tests to read.
            "_status_callback": form.get("StatusCallback"),
            "_validity_period": form.get("ValidityPeriod"),
            "_created": now,
            "_sent": None if queue_seconds is None else now + timedelta(seconds=queue_seconds),
        }
        with self._lock:
            self._messages[sid] = message
            self._accepted[form["To"]] += 1
        return 201, _public(message)

    def get(self, sid: str) -> dict[str, Any] | None:
        """A stored message with our own ``_`` fields, or None."""
        with self._lock:
            message = self._messages.get(sid)
            return dict(message) if message is not None else None

    def fetch(self, sid: str) -> dict[str, Any] | None:
        """A message as a GET sees it now: queued, or handed to the carrier."""
        message = self.get(sid)
        return _as_seen(message, datetime.now(UTC)) if message is not None else None

    def release(self) -> int:
        """Hand every message still held in the queue to the carrier now; how many."""
        now = datetime.now(UTC)
        with self._lock:
            held = [m for m in self._messages.values() if m["_sent"] is None]
            for message in held:
                message["_sent"] = now
        return len(held)

    def page(self, account: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """``GET .../Messages.json``: filtered by ``To`` and ``DateSent``, newest first.

        As Twilio does, the ``DateSent`` filters compare the time the message was handed to
        the carrier: a message still queued has none, so any ``DateSent`` filter leaves it out.
        """
        to = query.get("To", [None])[0]
        after = query.get("DateSent>", [None])[0]
        before = query.get("DateSent<", [None])[0]
        on = query.get("DateSent", [None])[0]
        now = datetime.now(UTC)
        with self._lock:
            stored = sorted(self._messages.values(), key=lambda m: m["_created"], reverse=True)
        found = []
        for message in stored:
            if to and message["to"] != to:
                continue
            sent_on = _sent_at(message, now)
            if (after or before or on) and sent_on is None:
                continue
            if after and sent_on is not None and sent_on < parse_date(after):
                continue
            if before and sent_on is not None and sent_on >= parse_date(before, end_of_day=True):
                continue
            if on and sent_on is not None and sent_on.date() != parse_date(on).date():
                continue
            found.append(_as_seen(message, now))
        size = int(query.get("PageSize", ["50"])[0])
        number = int(query.get("Page", ["0"])[0])
        chunk = found[number * size : (number + 1) * size]
        uri = f"{API_PREFIX}{account}/Messages.json"
        has_next = (number + 1) * size < len(found)
        next_uri = f"{uri}?PageSize={size}&Page={number + 1}" + (f"&To={to}" if to else "")
        return {
            "messages": chunk,
            "page": number,
            "page_size": size,
            "start": number * size,
            "end": number * size + len(chunk) - 1 if chunk else 0,
            "uri": uri,
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "previous_page_uri": None,
            "next_page_uri": next_uri if has_next else None,
        }

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages.values()]

    def accepted_count(self, to: str) -> int:
        with self._lock:
            return self._accepted[to]

    def accepted(self) -> dict[str, int]:
        with self._lock:
            return dict(self._accepted)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._accepted.clear()


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _sent_at(message: dict[str, Any], now: datetime) -> datetime | None:
    sent: datetime | None = message["_sent"]
    return sent if sent is not None and sent <= now else None


def _as_seen(message: dict[str, Any], now: datetime) -> dict[str, Any]:
    body = _public(message)
    sent = _sent_at(message, now)
    if sent is not None:
        body["status"] = "sent"
        body["date_sent"] = format_datetime(sent, usegmt=True)
    return body
