"""SMS: Twilio, a JSON-lines file for offline use and the demo, or nothing at all.

A leaf module like the rest of ``channels``: every setting arrives as a constructor argument.
``send`` may be called from several threads at once; it hands one message to the provider and
returns, or raises :class:`ChannelError` (retries and rate limits are the dispatcher's job).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import ChannelError, DeliveryResult, Message
from channels.sms_offline import DisabledSMS as DisabledSMS
from channels.sms_offline import FileSMS as FileSMS
from channels.twilio_http import SessionPerThread

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Twilio's error codes and what they mean for the contact (https://www.twilio.com/docs/errors).
INVALID_CONTACT_CODES = frozenset({21211, 21614, 30005, 30006})  # bad or not SMS-capable
OPTED_OUT_CODES = frozenset({21610})  # the recipient replied STOP to Twilio
CARRIER_FILTERED_CODES = frozenset({30007})
RATE_LIMITED_CODES = frozenset({20429})
# Authentication failed, account suspended or not permitted: the sender's problem.
ACCOUNT_CODES = frozenset({20003, 20005, 20008})
ERROR_DESCRIPTIONS = {
    20429: "too many requests",
    21211: "not a valid phone number",
    21610: "the recipient has opted out (replied STOP)",
    21614: "not a mobile number",
    30001: "queue overflow",
    30003: "handset unreachable",
    30005: "unknown or inactive number",
    30006: "landline or unreachable carrier",
    30007: "filtered by the carrier",
    30008: "unknown delivery error",
    30036: "validity period expired (the work had started)",
}

# Twilio drops a message still queued after ValidityPeriod seconds: 1 to 36,000 (10 hours).
MIN_VALIDITY_SECONDS = 1
MAX_VALIDITY_SECONDS = 36_000

# A lookup reads one page of a recipient's newest messages: far more than one number gets
# between a claim and its lookup (a handful of notices a day at most).
LOOKUP_PAGE = 100

# Provider messages sometimes quote the number; logs and the ledger must not.
_PHONE_LIKE = re.compile(r"[+(]?\d[\d\s().-]{6,}\d")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def flag_for_error_code(code: int | str | None) -> str | None:
    """What a Twilio error code says about the contact: ``invalid_contact``, ``opted_out``."""
    try:
        number = int(code) if code is not None else None
    except ValueError:
        return None
    if number in INVALID_CONTACT_CODES:
        return "invalid_contact"
    if number in OPTED_OUT_CODES:
        return "opted_out"
    return None


def validity_period(valid_until: datetime | None, now: datetime) -> int | None:
    """Seconds Twilio may hold the message, ending at ``valid_until`` (None: no limit)."""
    if valid_until is None:
        return None
    seconds = math.floor((valid_until - now).total_seconds())
    return max(MIN_VALIDITY_SECONDS, min(MAX_VALIDITY_SECONDS, seconds))


def scrub(text: str) -> str:
    """Remove anything that looks like a phone number from a provider's message."""
    return _PHONE_LIKE.sub("<number>", text)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class SentMessage:
    """A message the provider already holds, for recovery after a crash mid-send."""

    sid: str
    status: str
    date_created: datetime | None
    body: str = ""  # tells two notices to one number apart ("" when Twilio redacted it)


class TwilioAccount:
    """What the Twilio channels (SMS and voice) share: the official client, built from
    explicit credentials on one HTTP session per thread, its closing, and the mapping of its
    errors to :class:`ChannelError` (with the ``Retry-After`` of the thread's last response).
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        timeout: float,
        http_client: HttpClient | None,
        clock: Clock,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Twilio needs an account SID and an auth token")
        self.clock = clock
        self.http = http_client or SessionPerThread(timeout)
        # `environment` must be a non-empty mapping: the client falls back to os.environ for
        # TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_EDGE and TWILIO_REGION otherwise,
        # and an edge or region would silently rewrite api_base_url's host.
        self.client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=self.http,
            environment={"OUTAGE_NOTIFY": "explicit credentials"},
        )
        self.client.api.base_url = api_base_url.rstrip("/")

    def error(self, exc: BaseException) -> ChannelError:
        last = self.http.last_response() if isinstance(self.http, SessionPerThread) else None
        return twilio_error(exc, last, self.clock())

    def close(self) -> None:
        close = getattr(self.http, "close", None)
        if callable(close):
            close()


class TwilioSMS:
    """Send through Twilio's Messages API with the official client."""

    name: ClassVar[str] = "sms"
    body_maxlen: ClassVar[int] = 1600  # Twilio refuses longer bodies (error 21617)

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str = "",
        from_number: str = "",
        api_base_url: str = "https://api.twilio.com",
        status_callback_url: str | None = None,
        timeout: float = 10.0,
        http_client: HttpClient | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self._account = TwilioAccount(
            account_sid=account_sid,
            auth_token=auth_token,
            api_base_url=api_base_url,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )
        if not messaging_service_sid and not from_number:
            raise ValueError("Twilio needs a Messaging Service SID or a From number")
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number
        self.status_callback_url = status_callback_url
        self.clock = clock
        # Resolve the lazily built resource chain once, before threads share it.
        self._messages = self._account.client.api.v2010.account.messages

    def form_fields(self, message: Message) -> dict[str, Any]:
        """The arguments of ``messages.create`` for one message."""
        fields: dict[str, Any] = {"to": message.address, "body": message.text}
        if self.messaging_service_sid:
            fields["messaging_service_sid"] = self.messaging_service_sid
        else:
            fields["from_"] = self.from_number
        if self.status_callback_url:
            # The delivery id lets a callback that beats the dispatcher's own write find its
            # row before the row knows the message SID.
            query = urlencode({"delivery": message.delivery_id})
            separator = "&" if "?" in self.status_callback_url else "?"
            fields["status_callback"] = f"{self.status_callback_url}{separator}{query}"
        validity = validity_period(message.valid_until, self.clock())
        if validity is not None:
            fields["validity_period"] = validity
        return fields

    def send(self, message: Message) -> DeliveryResult:
        try:
            created = self._messages.create(**self.form_fields(message))
        except Exception as exc:  # nothing but ChannelError may escape send
            raise self._error(exc) from exc
        sid = created.sid
        if not sid:
            raise ChannelError("Twilio accepted the message without a SID", permanent=False)
        log.debug(
            "twilio accepted the message",
            extra={
                "delivery_id": message.delivery_id,
                "recipient": message.recipient_id,
                "provider_id": sid,
            },
        )
        return DeliveryResult(provider_id=sid, state="sent", detail=str(created.status or ""))

    def lookup(self, address: str, since: datetime) -> list[SentMessage]:
        """Messages to ``address`` created since ``since`` (newest first).

        Twilio's list filters only on ``DateSent``, which a message still queued at Twilio
        does not have yet (under load, for minutes): exactly the message a timed-out send
        needs to find. So the list is by recipient alone, one page of the newest, and
        ``date_created`` (to the second, so ``since`` is rounded down) is compared here.
        """
        since = since.astimezone(UTC).replace(microsecond=0)
        try:
            records = self._messages.list(to=address, limit=LOOKUP_PAGE, page_size=LOOKUP_PAGE)
        except Exception as exc:
            raise self._error(exc) from exc
        found = [
            SentMessage(
                sid=r.sid or "",
                status=str(r.status or ""),
                date_created=r.date_created,
                body=r.body or "",
            )
            for r in records
            if r.date_created is None or r.date_created >= since
        ]
        return sorted(found, key=lambda m: m.date_created or since, reverse=True)

    def close(self) -> None:
        self._account.close()

    def _error(self, exc: BaseException) -> ChannelError:
        return self._account.error(exc)


def twilio_error(exc: BaseException, response: Response | None, now: datetime) -> ChannelError:
    """What an exception out of twilio-python means (``response``: the last one received)."""
    headers = response.headers if response is not None and response.headers else {}
    retry_after = retry_after_seconds(headers.get("Retry-After"), now)
    if isinstance(exc, TwilioRestException):
        return classify(exc.status, exc.code, scrub(str(exc.msg)), retry_after)
    if isinstance(exc, TwilioServiceException):
        detail = f"{exc.title}: {exc.detail}" if exc.detail else exc.title
        return classify(exc.status, exc.code, scrub(detail), retry_after)
    if isinstance(exc, requests.Timeout):
        return ChannelError("Twilio did not answer in time", permanent=False, code="timeout")
    if isinstance(exc, requests.ConnectionError):
        return ChannelError(
            f"cannot reach Twilio: {type(exc).__name__}", permanent=False, code="connection"
        )
    if isinstance(exc, TwilioException):
        # A list page that was not a 200: twilio raises the bare exception with the response
        # as its second argument.
        page = exc.args[1] if len(exc.args) > 1 else response
        if isinstance(page, Response):
            page_headers = page.headers or {}
            return classify(
                page.status_code,
                None,
                "cannot list messages",
                retry_after_seconds(page_headers.get("Retry-After"), now),
            )
    # A request that may have reached Twilio: transient, the dispatcher may look it up.
    return ChannelError(
        f"unexpected error talking to Twilio: {type(exc).__name__}",
        permanent=False,
        code="unexpected",
    )


def classify(
    status: int, code: int | None, text: str, retry_after: float | None = None
) -> ChannelError:
    """Map an HTTP status and a Twilio error code to a ChannelError."""
    code_text = str(code) if code is not None else str(status)
    described = ERROR_DESCRIPTIONS.get(code or 0, "")
    reason = f"Twilio {code_text}: {text or described or f'HTTP {status}'}"[:500]
    if code in INVALID_CONTACT_CODES:
        return ChannelError(reason, permanent=True, code=code_text, flag="invalid_contact")
    if code in OPTED_OUT_CODES:
        return ChannelError(reason, permanent=True, code=code_text, flag="opted_out")
    if code in CARRIER_FILTERED_CODES:
        return ChannelError(reason, permanent=True, code=code_text)
    if code in RATE_LIMITED_CODES or status == 429:
        return ChannelError(reason, permanent=False, code=code_text, retry_after=retry_after)
    if status >= 500:
        return ChannelError(reason, permanent=False, code=code_text)
    if status in (401, 403) or code in ACCOUNT_CODES:
        # Our credentials or account, not the resident's number: every message would fail the
        # same way. Transient, so they go once the operator fixes it (until their deadline),
        # instead of all being marked failed for good.
        return ChannelError(reason, permanent=False, code=code_text)
    return ChannelError(reason, permanent=True, code=code_text)


BACKENDS: dict[str, type[TwilioSMS] | type[FileSMS] | type[DisabledSMS]] = {
    "twilio": TwilioSMS,
    "file": FileSMS,
    "disabled": DisabledSMS,
}
