"""The small protocol every push channel implements.

A channel is a transport: it gets a fully rendered :class:`Message`, hands it to a provider
and returns a :class:`DeliveryResult`, or raises :class:`ChannelError`. Retries, backoff,
rate limits and the ledger live in the dispatcher, never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    data: bytes


@dataclass(frozen=True)
class Message:
    """One rendered notice for one recipient on one channel."""

    delivery_id: int  # the ledger row; logs name it instead of the address
    recipient_id: str  # "customer:12" or "subscriber:3", for logs
    address: str  # E.164 phone number or email address
    language: str
    text: str  # the SMS body, or the plain-text part of an email
    subject: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    # Providers drop an SMS still queued at this time, so a notice about upcoming work is
    # never delivered after the work started.
    valid_until: datetime | None = None
    # Email: the From display name ("城市供水") when the configured address has none.
    sender_name: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    provider_id: str | None = None  # Twilio message SID, email Message-ID, file line
    # "sent": accepted by the provider; a later callback may report "delivered".
    # "delivered": the backend itself is the end of the line (the file backends).
    state: str = "sent"
    detail: str = ""


class ChannelError(Exception):
    """A send that did not go through.

    ``permanent`` errors are recorded and never retried; transient ones are retried by the
    dispatcher, no sooner than ``retry_after`` seconds when the provider said so.
    ``flag`` tells the core what to learn about the contact: ``"invalid_contact"`` (the
    number or address cannot receive this channel) or ``"opted_out"`` (the provider
    reports that the recipient unsubscribed).
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        code: str | None = None,
        retry_after: float | None = None,
        flag: str | None = None,
        recipients: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.flag = flag
        self.recipients = recipients

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"ChannelError({self.reason!r}, {kind}, code={self.code!r})"


class PushChannel(Protocol):
    """SMS and email backends. ``send`` may be called from several threads at once."""

    name: ClassVar[str]  # "sms" or "email"

    def send(self, message: Message) -> DeliveryResult: ...

    def close(self) -> None: ...
