"""Voice calls: Twilio's Calls API, a directory of TwiML files for the demo, or nothing.

A call says the notice with ``<Say>`` in the recipient's language, inside a one-digit
``<Gather>``: 1 acknowledges, 2 repeats, 9 stops voice calls (the web app answers the keypress
at ``POST /twilio/voice``). Answering machine detection runs as ``DetectMessageEnd``: Twilio
waits for the greeting's beep before the TwiML starts, so a machine records the whole message.

A leaf module like the rest of ``channels``: every setting arrives as a constructor argument,
and ``send`` raises :class:`ChannelError` exactly as the SMS channel does (retries and rate
limits are the dispatcher's job).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

from twilio.http import HttpClient
from twilio.twiml.voice_response import VoiceResponse

from channels.base import ChannelError, DeliveryResult, Message
from channels.sms import TwilioAccount

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Keys a resident can press during the call.
KEY_ACKNOWLEDGE = "1"
KEY_REPEAT = "2"
KEY_STOP = "9"
# Twilio's call errors that say the number cannot be called (https://www.twilio.com/docs/errors).
INVALID_NUMBER_CODES = frozenset({13223, 13224, 21211, 21217})
GATHER_SECONDS = 8  # how long the call waits for a key after the message
RING_SECONDS = 30  # Twilio's default; long enough for an older resident to reach the phone


@dataclass(frozen=True)
class Speaker:
    """Twilio's ``<Say>`` voice and language for one of our languages."""

    voice: str  # "Polly.Zhiyu", "Polly.Joanna", "alice"
    language: str  # "cmn-CN", "en-US"


@dataclass(frozen=True)
class CallRecord:
    """A call Twilio holds: what it became and who (or what) answered it."""

    sid: str
    status: str  # queued | ringing | in-progress | completed | busy | no-answer | failed | ...
    answered_by: str = ""  # human | machine_end_beep | fax | unknown ... ("" without AMD)
    date_created: datetime | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def with_query(url: str, **values: object) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(values)}"


def call_twiml(text: str, speaker: Speaker, *, gather_url: str | None) -> str:
    """The TwiML of a call: the message inside a one-key Gather, then hang up."""
    response = VoiceResponse()
    if gather_url:
        gather = response.gather(
            num_digits=1, action=gather_url, method="POST", timeout=GATHER_SECONDS
        )
        gather.say(text, voice=speaker.voice, language=speaker.language)
    else:
        response.say(text, voice=speaker.voice, language=speaker.language)
    response.hangup()
    return str(response)


def say_twiml(text: str, speaker: Speaker, *, hang_up: bool = True) -> str:
    """A short spoken answer (to a keypress), then hang up."""
    response = VoiceResponse()
    response.say(text, voice=speaker.voice, language=speaker.language)
    if hang_up:
        response.hangup()
    return str(response)


class _Spoken:
    """What every voice backend shares: the speaker per language and the call's TwiML."""

    def __init__(self, speakers: Mapping[str, Speaker], callback_url: str | None) -> None:
        if not speakers:
            raise ValueError("a voice channel needs a speaker for at least one language")
        self.speakers = dict(speakers)
        self.callback_url = callback_url

    def speaker(self, language: str) -> Speaker:
        return self.speakers.get(language) or next(iter(self.speakers.values()))

    def twiml(self, message: Message) -> str:
        gather = (
            with_query(self.callback_url, delivery=message.delivery_id, event="gather")
            if self.callback_url
            else None
        )
        return call_twiml(message.text, self.speaker(message.language), gather_url=gather)


class TwilioVoice(_Spoken):
    """Place calls through Twilio's Calls API with the official client."""

    name: ClassVar[str] = "voice"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        speakers: Mapping[str, Speaker],
        api_base_url: str = "https://api.twilio.com",
        callback_url: str | None = None,
        ring_seconds: int = RING_SECONDS,
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
        if not from_number:
            raise ValueError("Twilio needs a From number to call from")
        super().__init__(speakers, callback_url)
        self.from_number = from_number
        self.ring_seconds = ring_seconds
        self.clock = clock
        self._calls = self._account.client.api.v2010.account.calls

    def call_fields(self, message: Message) -> dict[str, Any]:
        """The arguments of ``calls.create`` for one message."""
        fields: dict[str, Any] = {
            "to": message.address,
            "from_": self.from_number,
            "twiml": self.twiml(message),
            # The message waits for the machine's beep, so a machine records all of it.
            "machine_detection": "DetectMessageEnd",
            "timeout": self.ring_seconds,
        }
        if self.callback_url:
            fields["status_callback"] = with_query(
                self.callback_url, delivery=message.delivery_id, event="status"
            )
            fields["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
            fields["status_callback_method"] = "POST"
        return fields

    def send(self, message: Message) -> DeliveryResult:
        try:
            created = self._calls.create(**self.call_fields(message))
        except Exception as exc:  # nothing but ChannelError may escape send
            raise self._error(exc) from exc
        if not created.sid:
            raise ChannelError("Twilio accepted the call without a SID", permanent=False)
        log.debug(
            "twilio accepted the call",
            extra={
                "delivery_id": message.delivery_id,
                "recipient": message.recipient_id,
                "provider_id": created.sid,
            },
        )
        return DeliveryResult(provider_id=created.sid, state="sent", detail=str(created.status))

    def fetch(self, sid: str) -> CallRecord:
        """One call as Twilio has it now."""
        try:
            call = self._calls(sid).fetch()
        except Exception as exc:
            raise self._error(exc) from exc
        return _record(call)

    def recent_calls(self, address: str, since: datetime) -> list[CallRecord]:
        """Calls to ``address`` created since ``since``, newest first."""
        try:
            calls = self._calls.list(to=address, start_time_after=since, limit=50)
        except Exception as exc:
            raise self._error(exc) from exc
        found = [_record(c) for c in calls]
        return [c for c in found if c.date_created is None or c.date_created >= since]

    def close(self) -> None:
        self._account.close()

    def _error(self, exc: BaseException) -> ChannelError:
        error = self._account.error(exc)
        code = int(error.code) if error.code and error.code.isdigit() else None
        if code in INVALID_NUMBER_CODES:
            return ChannelError(
                error.reason, permanent=True, code=error.code, flag="invalid_contact"
            )
        return error


def _record(call: Any) -> CallRecord:
    return CallRecord(
        sid=call.sid or "",
        status=str(call.status or ""),
        answered_by=str(call.answered_by or ""),
        date_created=call.date_created,
    )


class FileVoice(_Spoken):
    """Each call's TwiML in a file of its own, plus a JSON line per call; nothing is dialled."""

    name: ClassVar[str] = "voice"

    def __init__(
        self,
        directory: str | Path,
        *,
        speakers: Mapping[str, Speaker],
        callback_url: str | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        super().__init__(speakers, callback_url)
        self.directory = Path(directory)
        self.clock = clock
        self._lock = threading.Lock()

    def send(self, message: Message) -> DeliveryResult:
        provider_id = f"file-{uuid.uuid4().hex}"
        twiml_path = self.directory / f"{message.delivery_id}-{provider_id}.xml"
        record = {
            "to": message.address,
            "delivery_id": message.delivery_id,
            "recipient_id": message.recipient_id,
            "language": message.language,
            "time": self.clock().isoformat(),
            "twiml": twiml_path.name,
            "provider_id": provider_id,
        }
        try:
            with self._lock:
                self.directory.mkdir(parents=True, exist_ok=True)
                twiml_path.write_text(self.twiml(message), encoding="utf-8")
                with (self.directory / "calls.jsonl").open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise ChannelError(
                f"cannot write {self.directory}: {exc.strerror}", permanent=False, code="file"
            ) from exc
        return DeliveryResult(provider_id=provider_id, state="delivered")

    def close(self) -> None:
        """Nothing held open between calls."""


class DisabledVoice:
    """Voice switched off: every call fails permanently, so nothing is retried."""

    name: ClassVar[str] = "voice"

    def send(self, message: Message) -> DeliveryResult:
        raise ChannelError("voice calls are disabled", permanent=True, code="disabled")

    def close(self) -> None:
        """Nothing to release."""


BACKENDS: dict[str, type[TwilioVoice] | type[FileVoice] | type[DisabledVoice]] = {
    "twilio": TwilioVoice,
    "file": FileVoice,
    "disabled": DisabledVoice,
}
