"""The MIME message of an email notice, the same for every email backend.

So the ``.eml`` files of the file backend are exactly what SMTP would have sent. Written with
:mod:`channels.mime` rather than ``email.message.EmailMessage``, which cost ten times as much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from channels import mime
from channels.base import Attachment, ChannelError, Message

# Set by the channel itself; a Message may add others (List-Unsubscribe, ...).
OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
# Headers of the Message written as address lists; any other as unstructured text.
_ADDRESS_HEADERS = frozenset(
    {"reply-to", "sender", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc"}
)


@dataclass(frozen=True)
class WireMessage:
    """A message ready for SMTP: its Message-ID, envelope recipients and bytes."""

    message_id: str
    recipients: tuple[str, ...]
    data: bytes
    # A local part outside ASCII: only a server offering SMTPUTF8 (RFC 6531) can take it.
    needs_smtputf8: bool


def addr_spec(address: str) -> str:
    """``"City Water <notices@example.org>"`` -> ``notices@example.org``."""
    return parseaddr(address)[1] or address.strip()


def sender_domain(from_address: str) -> str:
    return addr_spec(from_address).rpartition("@")[2] or "localhost"


def envelope_address(address: str) -> str:
    """The address for MAIL FROM and RCPT TO, an internationalised domain in IDNA form."""
    local, _, domain = addr_spec(address).rpartition("@")
    return f"{local}@{mime.idna(domain)}"


def mime_message(message: Message, *, from_address: str, date: datetime) -> tuple[str, bytes]:
    """The Message-ID and bytes of the MIME message for ``message``.

    multipart/mixed holding multipart/alternative (text/plain first, then text/html: clients
    show the last part they understand) and the attachments. The calendar goes in as an
    attachment rather than as a third alternative: Outlook and Gmail treat a text/calendar
    alternative as a meeting invitation and show their calendar card instead of the notice,
    hiding the hotline and the unsubscribe link; as an attachment every client shows the
    notice and offers the .ics, and clients that read it (Gmail, Apple Mail, Thunderbird)
    still use METHOD, UID and SEQUENCE to update or cancel an event already imported.
    Raises ValueError on a header the channel sets itself, one with a line break or a name
    that is not a field name.
    """
    domain = mime.idna(sender_domain(from_address))
    message_id = make_msgid(idstring=f"d{message.delivery_id}", domain=domain)
    head = [
        f"Message-ID: {message_id}\r\n",
        f"Date: {format_datetime(date.astimezone(UTC))}\r\n",
        _address_header("From", _from(from_address, message.sender_name)),
        _address_header("To", message.address),
        # One line, whatever the template left in it: a line break would start a new header.
        mime.unstructured("Subject", " ".join(message.subject.split())),
        # RFC 3834: vacation responders and the like must not answer a notice.
        "Auto-Submitted: auto-generated\r\n",
        "X-Auto-Response-Suppress: All\r\n",
        *_extra_headers(message.headers),
        "MIME-Version: 1.0\r\n",
    ]
    content = _text_part("plain", message.text)
    if message.html is not None:
        content = mime.multipart("alternative", [content, _text_part("html", message.html)])
    if message.attachments:
        attachments = [_attachment_part(a) for a in message.attachments]
        content = mime.multipart("mixed", [content, *attachments])
    # UTF-8 only in a local part outside ASCII, which needs SMTPUTF8 anyway.
    return message_id, "".join(head).encode("utf-8") + content


def _from(from_address: str, sender_name: str) -> str:
    """The configured address, named after the sender when it carries no name of its own."""
    name = sender_name.replace('"', "").replace("\\", "").strip()
    if not name or "<" in from_address:
        return from_address
    return f'"{name}" <{from_address.strip()}>'


def _address_header(name: str, value: str) -> str:
    if mime.LINE_BREAK.search(value):
        raise ValueError(f"header {name} has a line break")
    return mime.address_list(name, value)


def _extra_headers(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        if name.lower() in OWN_HEADERS:
            raise ValueError(f"header {name} is set by the email channel")
        if not mime.FIELD_NAME.fullmatch(name):
            raise ValueError(f"header name {name!r} is not printable ASCII without a colon")
        if mime.LINE_BREAK.search(value):
            raise ValueError(f"header {name} has a line break")
        if name.lower() == "list-unsubscribe":
            lines.append(mime.link_list(name, value))
        elif name.lower() in _ADDRESS_HEADERS:
            lines.append(mime.address_list(name, value))
        else:
            lines.append(mime.unstructured(name, value))
    return lines


def _text_part(subtype: str, text: str) -> bytes:
    encoding, body = mime.text_body(text)
    headers = mime.content_header("Content-Type", f"text/{subtype}", {"charset": "utf-8"})
    return mime.entity(headers + f"Content-Transfer-Encoding: {encoding}\r\n", body)


def _attachment_part(attachment: Attachment) -> bytes:
    content_type, _, raw_params = attachment.content_type.partition(";")
    maintype, _, subtype = content_type.strip().partition("/")
    subtype = subtype or "octet-stream"
    if not (mime.TOKEN.fullmatch(maintype) and mime.TOKEN.fullmatch(subtype)):
        raise ValueError(f"bad attachment content type {attachment.content_type!r}")
    params = mime.parse_params(raw_params)
    if maintype == "text":
        params.setdefault("charset", "utf-8")
    headers = (
        mime.content_header("Content-Type", f"{maintype}/{subtype}", params)
        + mime.content_header(
            "Content-Disposition", "attachment", {"filename": attachment.filename}
        )
        + "Content-Transfer-Encoding: base64\r\n"
    )
    return mime.entity(headers, mime.base64_body(attachment.data))


def wire_message(message: Message, *, from_address: str, date: datetime) -> WireMessage:
    """Build and serialise; a message that cannot be built is a permanent ChannelError."""
    try:
        recipients = tuple(envelope_address(a) for _, a in getaddresses([message.address]) if a)
        if not recipients:
            raise ChannelError(
                "no email address", permanent=True, code="bad_address", flag="invalid_contact"
            )
        sender = envelope_address(from_address)
        message_id, data = mime_message(message, from_address=from_address, date=date)
        mime.check_line_lengths(data)
    except (ValueError, TypeError, UnicodeError, LookupError) as exc:
        raise ChannelError(
            f"cannot build the email: {exc}", permanent=True, code="bad_message"
        ) from None
    needs_utf8 = not (data.isascii() and sender.isascii() and all(map(str.isascii, recipients)))
    return WireMessage(message_id, recipients, data, needs_utf8)
