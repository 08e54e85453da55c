"""Shared by the email channel tests: a sample Message and SMTPEmail against the test server.

``channel_for(server, **options)`` (a fixture, registered in tests/conftest.py) makes an
SMTPEmail for a LocalSMTPServer and closes it after the test. ``assert_reads_back`` parses
the bytes of a message with the stdlib's parser and compares every part with what was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from channels.base import Attachment, Message
from channels.email import SMTPEmail
from channels.email_message import WireMessage, envelope_address
from tests.smtp_server import LocalSMTPServer

FROM = "City Water <notices@example.org>"
NOW = datetime(2025, 11, 20, 9, 30, tzinfo=UTC)


def message(
    delivery_id: int = 1, address: str = "resident@example.net", **changes: object
) -> Message:
    values: dict[str, object] = {
        "delivery_id": delivery_id,
        "recipient_id": f"customer:{delivery_id}",
        "address": address,
        "language": "en",
        "subject": "Planned water shutoff",
        "text": "Water is off on Tue 1 Dec 08:00-12:00.\n",
        "html": "<p>Water is off on <b>Tue 1 Dec</b>.</p>\n",
        "attachments": (
            Attachment(
                "outage-7.ics",
                "text/calendar; method=PUBLISH",
                b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
            ),
        ),
        "headers": {"List-Unsubscribe": "<https://outages.example.org/unsubscribe/t>"},
    }
    values.update(changes)
    return Message(**values)  # type: ignore[arg-type]


def smtp_channel(server: LocalSMTPServer, **options: object) -> SMTPEmail:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "from_address": FROM,
        "starttls": False,
        "timeout": 5.0,
        "local_hostname": "outage-notify.test",
        "clock": lambda: NOW,
    }
    values.update(options)
    return SMTPEmail(**values)  # type: ignore[arg-type]


@pytest.fixture
def channel_for() -> Iterator[Callable[..., SMTPEmail]]:
    made: list[SMTPEmail] = []

    def make(server: LocalSMTPServer, **options: object) -> SMTPEmail:
        channel = smtp_channel(server, **options)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


def canonical_text(text: str) -> str:
    """What a text part reads back as: line ends as MIME writes them (CRLF), one at the end."""
    return b"".join(line + b"\r\n" for line in text.encode().splitlines()).decode() or "\r\n"


def assert_reads_back(message: Message, wire: WireMessage, *, from_address: str) -> EmailMessage:
    """``wire`` parses back, without a defect, to exactly what ``message`` holds: the
    headers, text then HTML, and each attachment with its type, parameters and name."""
    data = wire.data
    assert data.isascii() or wire.needs_smtputf8
    bare = data.replace(b"\r\n", b"")  # CRLF line ends only
    assert b"\n" not in bare
    assert b"\r" not in bare
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    parsed: EmailMessage = message_from_bytes(data, policy=policy.default)  # type: ignore[assignment]
    assert [defect for part in parsed.walk() for defect in part.defects] == []

    assert parsed["Message-ID"] == wire.message_id
    assert parsed["Subject"] == " ".join(message.subject.split())
    # A From address without a name of its own is named after the sender (the utility).
    named = (
        f'"{message.sender_name}" <{from_address}>'
        if message.sender_name and "<" not in from_address
        else from_address
    )
    for name, value in (("From", named), ("To", message.address)):
        # The parser keeps UTF-8 (an SMTPUTF8 local part) as surrogate escapes.
        written = [
            (a.display_name, a.addr_spec.encode("utf-8", "surrogateescape").decode())
            for a in parsed[name].addresses
        ]
        assert written == [(n, envelope_address(a)) for n, a in getaddresses([value]) if a]
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    for name, value in message.headers.items():
        assert parsed.get_all(name) == [value]

    leaves = [part for part in parsed.walk() if not part.is_multipart()]
    texts = [message.text] if message.html is None else [message.text, message.html]
    for part, subtype, text in zip(leaves, ("plain", "html"), texts, strict=False):
        assert part.get_content_type() == f"text/{subtype}"
        assert part.get_content() == canonical_text(text)
    assert len(leaves) == len(texts) + len(message.attachments)
    for part, attachment in zip(leaves[len(texts) :], message.attachments, strict=True):
        content_type, *params = attachment.content_type.split(";")
        assert part.get_content_type() == content_type.strip()
        for param in params:
            key, _, value = param.strip().partition("=")
            assert part.get_param(key) == value
        assert part.get_content_disposition() == "attachment"
        assert part.get_filename() == attachment.filename
        assert part.get_payload(decode=True) == attachment.data
    return parsed
