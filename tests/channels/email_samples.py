"""Shared by the email channel tests: a sample Message and SMTPEmail against the test server.

``channel_for(server, **options)`` (a fixture, registered in tests/conftest.py) makes an
SMTPEmail for a LocalSMTPServer and closes it after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from channels.base import Attachment, Message
from channels.email import SMTPEmail
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
