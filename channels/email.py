"""Email: SMTP (``smtplib``), a file backend for offline use and the demo, and a disabled one.

The MIME message is built in :mod:`channels.email_message` and is the same for every
backend; :mod:`channels.smtp_replies` says what an SMTP reply means for the delivery.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from channels.base import ChannelError, DeliveryResult, Message, PushChannel
from channels.email_message import WireMessage, envelope_address, wire_message
from channels.smtp_replies import error_from_exception, error_from_refusal

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _StaleConnection(Exception):
    """A kept connection the server had closed while idle: no command of ours was taken."""


class SMTPEmail:
    """Sends through one SMTP server, keeping one connection per sending thread.

    TLS: implicit (``SMTP_SSL``) when ``implicit_tls`` is true, by default on port 465;
    otherwise STARTTLS when ``starttls`` (and the server must offer it: we never fall back
    to plain text). Certificates are verified with ``ssl.create_default_context()`` unless an
    ``ssl_context`` is passed (tests pass one trusting their own certificate authority).
    """

    name: ClassVar[str] = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 30.0,
        implicit_tls: bool | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        max_idle: float = 60.0,
        clock: Clock = _utcnow,
    ) -> None:
        self.host = host
        self.port = port
        self.from_address = from_address
        self.username = username
        self._password = password
        self.implicit_tls = port == 465 if implicit_tls is None else implicit_tls
        self.starttls = starttls and not self.implicit_tls
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self.max_idle = max_idle
        self._clock = clock
        self._sender = envelope_address(from_address)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[smtplib.SMTP] = set()  # every thread's, so close() reaches them all

    def __repr__(self) -> str:
        return f"SMTPEmail({self.host}:{self.port}, user={self.username or None!r})"

    def send(self, message: Message) -> DeliveryResult:
        wire = wire_message(message, from_address=self.from_address, date=self._clock())
        try:
            refused = self._deliver(wire)
        except Exception as exc:
            error = error_from_exception(exc)
            if error.code == "error":
                log.exception("email delivery %s: unexpected error", message.delivery_id)
            log.info(
                "email delivery %s to %s failed: %r",
                message.delivery_id,
                message.recipient_id,
                error,
            )
            raise error from None
        if refused:
            raise error_from_refusal(refused, len(wire.recipients))
        log.debug(
            "email delivery %s to %s sent as %s",
            message.delivery_id,
            message.recipient_id,
            wire.message_id,
        )
        return DeliveryResult(provider_id=wire.message_id, state="sent")

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
        for smtp in connections:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    # Connections ---------------------------------------------------------------------

    def _deliver(self, wire: WireMessage) -> dict[str, tuple[int, bytes]]:
        smtp, reused = self._connection()
        try:
            return self._transaction(smtp, reused, wire)
        except _StaleConnection:
            # Servers close idle connections (Postfix after 300 s, often with a 421 we only
            # read now). Nothing was accepted, so one fresh connection is not a resend.
            self._discard(smtp)
            smtp, _ = self._connection()
            try:
                return self._transaction(smtp, False, wire)
            except BaseException:
                self._discard_if_closed(smtp)
                raise
        except BaseException:
            self._discard_if_closed(smtp)
            raise

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's connection (and whether it was kept from an earlier send)."""
        now = self._clock()
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        if smtp is not None and smtp.sock is not None and smtp in self._open:
            idle = (now - self._local.used_at).total_seconds()
            if idle <= self.max_idle:
                self._local.used_at = now
                return smtp, True
            # An idle connection may have died without a word (a NAT or firewall forgot it):
            # finding out costs a whole timeout. A fresh one costs a round trip or two.
            self._discard(smtp)
        smtp = self._connect()
        self._local.smtp = smtp
        self._local.used_at = now
        with self._lock:
            self._open.add(smtp)
        return smtp, False

    def _connect(self) -> smtplib.SMTP:
        if self._local_hostname is None:
            # smtplib would look the name up on every connection, a DNS round trip each.
            self._local_hostname = socket.getfqdn()
        context = self._ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self._local_hostname,
                timeout=self.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
            )
        try:
            smtp.ehlo()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise ChannelError(
                        "the SMTP server does not offer STARTTLS (email.starttls = true): "
                        "refusing to send in plain text",
                        permanent=False,
                        code="starttls_unavailable",
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                if not smtp.has_extn("auth"):
                    raise ChannelError(
                        "the SMTP server does not offer AUTH (email.username is set)",
                        permanent=False,
                        code="auth_unavailable",
                    )
                smtp.login(self.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _discard(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            self._open.discard(smtp)
        smtp.close()

    def _discard_if_closed(self, smtp: smtplib.SMTP) -> None:
        if smtp.sock is None:
            self._discard(smtp)

    def _transaction(
        self,
        smtp: smtplib.SMTP,
        reused: bool,
        wire: WireMessage,
    ) -> dict[str, tuple[int, bytes]]:
        """MAIL, RCPT, DATA as ``smtplib.SMTP.sendmail`` does, knowing which step failed."""
        options: list[str] = []
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(wire.data)}")
        if wire.needs_smtputf8:
            if not smtp.has_extn("smtputf8"):
                raise ChannelError(
                    "the address needs SMTPUTF8, which the SMTP server does not offer",
                    permanent=True,
                    code="smtputf8_unsupported",
                )
            options.append("SMTPUTF8")
        try:
            code, reply = smtp.mail(self._sender, options)
        except smtplib.SMTPServerDisconnected as exc:
            if reused and "timed out" not in str(exc):
                raise _StaleConnection from exc
            raise
        if code == 421 and reused:
            raise _StaleConnection
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPSenderRefused(code, reply, self._sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in wire.recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                smtp.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(wire.recipients):
            _end_transaction(smtp, 0)
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.data(wire.data)
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPDataError(code, reply)
        return refused


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: RSET to keep the connection, or close it when the server is leaving."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class FileEmail:
    """Writes each message as ``<delivery id>-<Message-ID>.eml`` in ``directory``.

    For offline use and the demo: the file is exactly what SMTP would have sent. Written to
    a temporary name and renamed, so a reader never sees half a message.
    """

    name: ClassVar[str] = "email"

    def __init__(
        self, directory: str | os.PathLike[str], from_address: str, *, clock: Clock = _utcnow
    ) -> None:
        self.directory = Path(directory)
        self.from_address = from_address
        self._clock = clock

    def __repr__(self) -> str:
        return f"FileEmail({str(self.directory)!r})"

    def send(self, message: Message) -> DeliveryResult:
        wire = wire_message(message, from_address=self.from_address, date=self._clock())
        message_id = wire.message_id
        safe_id = re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>"))
        path = self.directory / f"{message.delivery_id}-{safe_id}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(wire.data)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ChannelError(
                f"cannot write {path}: {exc.strerror or exc}", permanent=False, code="file_error"
            ) from None
        log.debug(
            "email delivery %s to %s written to %s",
            message.delivery_id,
            message.recipient_id,
            path.name,
        )
        return DeliveryResult(provider_id=message_id, state="delivered", detail=str(path))

    def close(self) -> None:
        pass


class DisabledEmail:
    """``email.backend = "disabled"``: every send fails, permanently, saying so."""

    name: ClassVar[str] = "email"

    def send(self, message: Message) -> DeliveryResult:
        raise ChannelError(
            'email is disabled (email.backend = "disabled")', permanent=True, code="disabled"
        )

    def close(self) -> None:
        pass


BACKENDS: dict[str, Callable[..., PushChannel]] = {
    "smtp": SMTPEmail,
    "file": FileEmail,
    "disabled": DisabledEmail,
}
