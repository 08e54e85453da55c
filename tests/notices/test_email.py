"""The email notice: templates for every kind and language, the calendar, the headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from pydantic import SecretStr

from channels.base import Message
from channels.email import DisabledEmail, FileEmail, SMTPEmail
from channels.email_message import wire_message
from outage_notify.db import Database
from outage_notify.errors import SettingsError
from outage_notify.models import NoticeKind, Outage, OutageRevision, ServiceArea
from outage_notify.notices.email import compose_email
from outage_notify.notices.texts import NoticeContext, build_context
from outage_notify.notices.unsubscribe_links import read_token
from outage_notify.registry import build_email
from outage_notify.settings import SHIPPED_LANGUAGES, Settings, load_settings
from tests.channels.email_samples import assert_reads_back
from tests.conftest import base_config, write_config
from tests.smtp_server import LocalSMTPServer

KINDS = [k.value for k in NoticeKind]
NOW = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
HOSTILE = "<script>alert(1)</script> ]]> &amp; Main"


@pytest.fixture
def notice_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return load_settings(write_config(tmp_path / "c.toml", base_config(tmp_path, sqlite_url)), {})


def add_outage(
    database: Database,
    *,
    title: str = "Main replacement on Riverside Road",
    description: str = "Crews replace 200 m of water main.\nExpect low pressure afterwards.",
    utility: str = "water",
    revisions: int = 1,
    reason: str | None = None,
    extended: bool = False,
) -> Outage:
    """An outage in areas R1 and R2; each extra revision moves it one day later (``extended``:
    ends two hours later)."""

    def times(number: int) -> tuple[datetime, datetime]:
        if extended:
            return START, START + timedelta(hours=4 + 2 * (number - 1))
        return START + timedelta(days=number - 1), START + timedelta(days=number - 1, hours=4)

    geometry = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    with database.session() as session:
        for code, name, name_en in (("R1", "滨河片区", "Riverside"), ("R2", "老城片区", None)):
            session.add(
                ServiceArea(
                    code=code,
                    name=name,
                    name_en=name_en,
                    utility=utility,
                    geometry=geometry,
                    min_lon=0,
                    min_lat=0,
                    max_lon=1,
                    max_lat=1,
                )
            )
        outage = Outage(
            utility=utility,
            title=title,
            description=description,
            start_at=times(revisions)[0],
            end_at=times(revisions)[1],
            area_codes=["R1", "R2"],
            revision=revisions,
            cancel_reason=reason,
        )
        session.add(outage)
        session.flush()
        for number in range(1, revisions + 1):
            session.add(
                OutageRevision(
                    outage_id=outage.id or 0,
                    revision=number,
                    change="created" if number == 1 else "extended" if extended else "rescheduled",
                    title=title,
                    description=description,
                    start_at=times(number)[0],
                    end_at=times(number)[1],
                    area_codes=["R1", "R2"],
                    status="planned",
                    reason=reason if number == revisions else None,
                )
            )
    return outage


def context(
    database: Database, settings: Settings, outage: Outage, kind: str, language: str
) -> NoticeContext:
    with database.read() as session:
        return build_context(session, outage, kind=kind, language=language, settings=settings)


def compose(
    ctx: NoticeContext, settings: Settings, address: str = "resident@example.net"
) -> Message:
    return compose_email(
        ctx, delivery_id=41, recipient_id="customer:7", address=address, settings=settings, now=NOW
    )


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_language(
    sqlite_db: Database, notice_settings: Settings, kind: str, language: str
) -> None:
    outage = add_outage(sqlite_db, revisions=2)
    message = compose(context(sqlite_db, notice_settings, outage, kind, language), notice_settings)
    assert "\n" not in message.subject
    assert "Main replacement on Riverside Road" in message.subject
    area = "Riverside" if language == "en" else "滨河片区"
    for part in (message.text, message.html or ""):
        assert "Main replacement on Riverside Road" in part
        assert "Crews replace 200 m of water main." in part
        assert area in part
        assert "老城片区" in part  # an area without an English name
        assert "12319" in part
        assert f"https://outages.example.org/outages/{outage.id}" in part
        assert "https://outages.example.org/unsubscribe/" in part
    assert f'<html lang="{language}">' in (message.html or "")
    assert message.language == language


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_is_escaped_in_html_and_literal_in_text(
    sqlite_db: Database, notice_settings: Settings, kind: str, language: str
) -> None:
    outage = add_outage(sqlite_db, title=HOSTILE, description=f"Before {HOSTILE} after")
    message = compose(context(sqlite_db, notice_settings, outage, kind, language), notice_settings)
    html = message.html or ""
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp;amp; Main" in html
    assert html.count("&lt;script&gt;") == 2  # the title and the description
    assert message.text.count("<script>alert(1)</script> ]]> &amp; Main") == 2
    assert "&lt;" not in message.text
    assert HOSTILE in message.subject
    assert _calendar(message).events[0]["SUMMARY"].endswith(HOSTILE)


def _calendar(message: Message) -> Calendar:
    [attachment] = message.attachments
    return Calendar.from_ical(attachment.data)


def test_the_calendar_moves_with_the_revision(
    sqlite_db: Database, notice_settings: Settings
) -> None:
    outage = add_outage(sqlite_db, revisions=3)
    message = compose(context(sqlite_db, notice_settings, outage, "changed", "en"), notice_settings)
    [attachment] = message.attachments
    assert attachment.content_type == "text/calendar; method=PUBLISH"
    assert attachment.filename == f"outage-{outage.id}.ics"
    calendar = _calendar(message)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.events
    assert str(event["UID"]) == f"outage-{outage.id}@outages.example.org"
    assert event["SEQUENCE"] == 3
    assert event["STATUS"] == "CONFIRMED"
    assert event.get("DTSTART").params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART") == START + timedelta(days=2)
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["URL"]) == f"https://outages.example.org/outages/{outage.id}"
    assert str(event["LOCATION"]) == "Riverside, 老城片区"
    assert str(event["ORGANIZER"]) == "mailto:notices@example.org"


def test_a_cancelled_outage_cancels_the_calendar_event(
    sqlite_db: Database, notice_settings: Settings
) -> None:
    outage = add_outage(sqlite_db, revisions=2, reason="Pipe repaired without a shutoff")
    message = compose(
        context(sqlite_db, notice_settings, outage, "cancelled", "zh-CN"), notice_settings
    )
    assert message.attachments[0].content_type == "text/calendar; method=CANCEL"
    calendar = _calendar(message)
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.events[0]["STATUS"] == "CANCELLED"
    assert calendar.events[0]["SEQUENCE"] == 2
    assert "Pipe repaired without a shutoff" in message.text


@pytest.mark.parametrize(
    ("kind", "language", "expected"),
    [
        ("changed", "en", "It was planned for Mon 1 Dec 08:00-12:00."),
        ("changed", "zh-CN", "（原定12月1日(周一) 08:00-12:00）"),
        ("extended", "en", "instead of Mon 1 Dec 12:00"),
        ("extended", "zh-CN", "（原定12月1日(周一) 12:00）"),
    ],
)
def test_a_change_names_the_previous_time(
    sqlite_db: Database, notice_settings: Settings, kind: str, language: str, expected: str
) -> None:
    outage = add_outage(sqlite_db, revisions=2, extended=kind == "extended")
    message = compose(context(sqlite_db, notice_settings, outage, kind, language), notice_settings)
    assert expected in message.text


def test_the_unsubscribe_headers_follow_rfc_8058(
    sqlite_db: Database, notice_settings: Settings
) -> None:
    outage = add_outage(sqlite_db)
    message = compose(context(sqlite_db, notice_settings, outage, "advance", "en"), notice_settings)
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (
        link.strip().removeprefix("<").removesuffix(">")
        for link in message.headers["List-Unsubscribe"].split(",")
    )
    assert https.startswith("https://outages.example.org/unsubscribe/")
    assert mailto.startswith("mailto:notices@example.org?subject=unsubscribe%20")
    token = read_token(notice_settings, https.rsplit("/", 1)[1])
    assert (token.channel, token.address) == ("email", "resident@example.net")
    assert https in message.text


def test_an_empty_secret_key_fails_loudly(sqlite_db: Database, notice_settings: Settings) -> None:
    outage = add_outage(sqlite_db)
    ctx = context(sqlite_db, notice_settings, outage, "advance", "en")
    keyless = notice_settings.model_copy(
        update={"web": notice_settings.web.model_copy(update={"secret_key": SecretStr("")})}
    )
    with pytest.raises(SettingsError, match=r"web\.secret_key"):
        compose(ctx, keyless)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_the_notice_arrives_over_smtp_and_parses_back(
    sqlite_db: Database,
    notice_settings: Settings,
    smtp_server: LocalSMTPServer,
    language: str,
) -> None:
    outage = add_outage(sqlite_db, revisions=2)
    message = compose(
        context(sqlite_db, notice_settings, outage, "changed", language), notice_settings
    )
    channel = SMTPEmail(
        host=smtp_server.host,
        port=smtp_server.port,
        starttls=False,
        from_address=notice_settings.email.from_address,
        local_hostname="outage-notify.test",
    )
    try:
        result = channel.send(message)
    finally:
        channel.close()
    received: EmailMessage = smtp_server.messages[0].message
    assert received["Message-ID"] == result.provider_id
    assert received["Subject"] == message.subject
    assert received["To"] == "resident@example.net"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["List-Unsubscribe"] == message.headers["List-Unsubscribe"]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    head = smtp_server.messages[0].data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    https = message.headers["List-Unsubscribe"].split(",")[0]
    assert f"List-Unsubscribe: {https}," in head  # verbatim: no encoded-words
    alternative, attachment = received.iter_parts()
    plain, html = alternative.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().replace("\r\n", "\n") == message.html
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    event = Calendar.from_ical(attachment.get_payload(decode=True)).events[0]
    assert str(event["UID"]) == f"outage-{outage.id}@outages.example.org"
    assert event["SEQUENCE"] == 2
    assert event["STATUS"] == "CONFIRMED"
    assert event.get("DTSTART").params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART") == START + timedelta(days=1)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("kind", ["advance", "cancelled"])
def test_a_hostile_notice_reads_back_as_composed(
    sqlite_db: Database, notice_settings: Settings, kind: str, language: str
) -> None:
    title = f"{HOSTILE} =?utf-8?q?x?= 滨河路\t供水管道更换 {'长' * 80}"
    outage = add_outage(
        sqlite_db, title=title, description=f"{HOSTILE}\n.\nFrom here\n--\n停水", reason="修复"
    )
    ctx = context(sqlite_db, notice_settings, outage, kind, language)
    message = compose(ctx, notice_settings, address="张三 <resident@example.net>")
    from_address = notice_settings.email.from_address
    wire = wire_message(message, from_address=from_address, date=NOW)
    parsed = assert_reads_back(message, wire, from_address=from_address)
    assert title.replace("\t", " ") in parsed["Subject"]
    assert wire.data.isascii()


@pytest.mark.parametrize(
    ("backend", "expected"),
    [("smtp", SMTPEmail), ("file", FileEmail), ("disabled", DisabledEmail)],
)
def test_the_channel_follows_email_backend(
    notice_settings: Settings, backend: str, expected: Callable[..., Any]
) -> None:
    email = notice_settings.email.model_copy(update={"backend": backend, "port": 465})
    channel = build_email(notice_settings.model_copy(update={"email": email}))
    assert isinstance(channel, expected)  # type: ignore[arg-type]
    if isinstance(channel, SMTPEmail):
        assert channel.implicit_tls
