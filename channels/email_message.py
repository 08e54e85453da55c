"""The MIME message of an email notice, the same for every email backend.

So the ``.eml`` files of the file backend are exactly what SMTP would have sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from channels.base import ChannelError, Message


class _HeaderClasses(HeaderRegistry):
    """The stdlib makes a new class (``type(...)``) for every header it parses, a third of
    the time spent building a notice; make each header's class once."""

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
    """``List-Unsubscribe``: links in angle brackets that must arrive verbatim.

    The stdlib encodes any word longer than a line (a signed unsubscribe URL is) as RFC 2047
    encoded-words, which mail providers do not decode in this header: the one-click button
    would not work. So fold between the links only; each line stays far below 998 octets.
    """

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            return super().fold(policy=policy)
        links = [link.strip() for link in value.split(",")]
        return f"{self.name}: " + f",{policy.linesep} ".join(links) + policy.linesep


# Build with 7-bit transfer encodings (base64 or quoted-printable for non-ASCII text): the
# message then needs no 8BITMIME and survives any relay. CRLF line ends, as on the wire.
_HEADERS = _HeaderClasses()
_HEADERS.map_to_type("list-unsubscribe", _LinkListHeader)
_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_HEADERS)
_UTF8_POLICY = policy.SMTPUTF8.clone(cte_type="7bit", header_factory=_HEADERS)
# Set by mime_message itself; a Message may add others (List-Unsubscribe, ...).
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
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def mime_message(message: Message, *, from_address: str, date: datetime) -> EmailMessage:
    """The MIME message for ``message``; its Message-ID is in ``result["Message-ID"]``.

    multipart/mixed holding multipart/alternative (text/plain first, then text/html: clients
    show the last part they understand) and the attachments. The calendar goes in as an
    attachment rather than as a third alternative: Outlook and Gmail treat a text/calendar
    alternative as a meeting invitation and show their calendar card instead of the notice,
    hiding the hotline and the unsubscribe link; as an attachment every client shows the
    notice and offers the .ics, and clients that read it (Gmail, Apple Mail, Thunderbird)
    still use METHOD, UID and SEQUENCE to update or cancel an event already imported.
    Raises ValueError on a header the channel sets itself or one with a line break.
    """
    mime = EmailMessage(policy=_POLICY)
    mime["Message-ID"] = make_msgid(
        idstring=f"d{message.delivery_id}", domain=sender_domain(from_address)
    )
    mime["Date"] = format_datetime(date.astimezone(UTC))
    mime["From"] = from_address
    mime["To"] = message.address
    # One line, whatever the template left in it: a line break would start a new header.
    mime["Subject"] = " ".join(message.subject.split())
    # RFC 3834: vacation responders and the like must not answer a notice.
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


def wire_message(message: Message, *, from_address: str, date: datetime) -> WireMessage:
    """Build and serialise; a message that cannot be built is a permanent ChannelError."""
    try:
        recipients = tuple(envelope_address(a) for _, a in getaddresses([message.address]) if a)
        if not recipients:
            raise ChannelError(
                "no email address", permanent=True, code="bad_address", flag="invalid_contact"
            )
        if not message.address.isascii():
            message = replace(message, address=", ".join(recipients))
        needs_utf8 = not all(a.isascii() for a in (*recipients, envelope_address(from_address)))
        mime = mime_message(message, from_address=from_address, date=date)
        data = mime.as_bytes(policy=_UTF8_POLICY if needs_utf8 else _POLICY)
    except (ValueError, TypeError, UnicodeError, LookupError) as exc:
        raise ChannelError(
            f"cannot build the email: {exc}", permanent=True, code="bad_message"
        ) from None
    return WireMessage(str(mime["Message-ID"]), recipients, data, needs_utf8)
