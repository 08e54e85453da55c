"""The MIME message the email channel sends, received and parsed back by a real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels.base import ChannelError
from channels.email import SMTPEmail
from tests.channels.email_samples import FROM, NOW, message
from tests.smtp_server import LocalSMTPServer


def test_send_delivers_one_message_with_its_message_id(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    result = channel_for(smtp_server).send(message())
    assert result.state == "sent"
    [received] = smtp_server.messages
    assert received.mail_from == "notices@example.org"
    assert received.rcpt_tos == ("resident@example.net",)
    assert received.message["Message-ID"] == result.provider_id
    assert result.provider_id is not None
    assert result.provider_id.endswith("@example.org>")


def test_the_message_has_text_then_html_then_the_calendar(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel_for(smtp_server).send(message())
    parsed = smtp_server.messages[0].message
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, calendar = parsed.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == "outage-7.ics"
    assert calendar.get_content_disposition() == "attachment"
    assert calendar.get_payload(decode=True).startswith(b"BEGIN:VCALENDAR\r\n")


def test_the_headers_are_set(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel_for(smtp_server).send(message())
    parsed = smtp_server.messages[0].message
    assert parsed["From"] == FROM
    assert parsed["To"] == "resident@example.net"
    assert parsed["Subject"] == "Planned water shutoff"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime == NOW
    assert parsed["List-Unsubscribe"] == "<https://outages.example.org/unsubscribe/t>"


def test_list_unsubscribe_links_arrive_verbatim(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    # A signed token makes the URL longer than a header line; an encoded-word there would
    # break the providers' one-click button.
    https = "<https://outages.example.org/unsubscribe/" + "WyJlbWFpbCIsInIiXQ" * 6 + ".sig>"
    mailto = "<mailto:notices@example.org?subject=unsubscribe%20" + "x" * 100 + ">"
    channel_for(smtp_server).send(message(headers={"List-Unsubscribe": f"{https}, {mailto}"}))
    head = smtp_server.messages[0].data.split(b"\r\n\r\n", 1)[0]
    assert f"List-Unsubscribe: {https},\r\n {mailto}\r\n".encode() in head
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))


def test_a_non_ascii_subject_is_encoded_and_reads_back(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    subject = "【城市供水】停水通知：12月1日(周二) 08:00-12:00"
    channel_for(smtp_server).send(message(subject=subject, text="停水通知\n"))
    received = smtp_server.messages[0]
    assert b"=?utf-8?" in received.data.split(b"\r\n\r\n", 1)[0]
    assert received.data.isascii()  # 7-bit clean: no relay needs 8BITMIME
    assert received.message["Subject"] == subject
    # Text is in MIME canonical form (CRLF) inside base64.
    assert received.message.get_body(("plain",)).get_content().splitlines() == ["停水通知"]


def test_a_message_without_html_is_plain_text_and_attachments(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel_for(smtp_server).send(message(html=None, attachments=()))
    parsed = smtp_server.messages[0].message
    assert parsed.get_content_type() == "text/plain"


@pytest.mark.parametrize("name", ["Message-ID", "From", "subject", "Content-Type"])
def test_a_header_the_channel_sets_cannot_be_overridden(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail], name: str
) -> None:
    with pytest.raises(ChannelError) as caught:
        channel_for(smtp_server).send(message(headers={name: "x"}))
    assert caught.value.permanent
    assert caught.value.code == "bad_message"
    assert smtp_server.messages == []


def test_a_header_with_a_line_break_is_refused(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    with pytest.raises(ChannelError) as caught:
        channel_for(smtp_server).send(message(headers={"X-Note": "a\r\nBcc: victim@example.com"}))
    assert caught.value.code == "bad_message"
    assert smtp_server.messages == []


def test_a_line_break_in_the_subject_does_not_start_a_header(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel_for(smtp_server).send(message(subject="Outage\r\nBcc: victim@example.com"))
    parsed = smtp_server.messages[0].message
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Outage Bcc: victim@example.com"
    assert smtp_server.messages[0].rcpt_tos == ("resident@example.net",)


def test_an_address_needing_smtputf8_fails_permanently_without_it(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    with pytest.raises(ChannelError) as caught:
        channel_for(smtp_server).send(message(address="居民@example.net"))
    assert caught.value.permanent
    assert caught.value.code == "smtputf8_unsupported"


def test_an_address_needing_smtputf8_goes_through_a_server_offering_it(
    smtp_server_factory: Callable[..., LocalSMTPServer], channel_for: Callable[..., SMTPEmail]
) -> None:
    server = smtp_server_factory(smtputf8=True)
    channel_for(server).send(message(address="居民@example.net"))
    assert server.messages[0].rcpt_tos == ("居民@example.net",)


def test_an_internationalised_domain_goes_out_in_idna(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel_for(smtp_server).send(message(address="resident@例子.中国"))
    assert smtp_server.messages[0].rcpt_tos == ("resident@xn--fsqu00a.xn--fiqs8s",)
