"""What each SMTP reply and socket error means for a delivery."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest

from channels.smtp_replies import error_from_exception, error_from_reply, reply_text

REPLIES = [
    # code, reply, permanent, flag
    (421, "4.3.2 Service shutting down", False, None),
    (450, "4.2.1 Mailbox busy", False, None),
    (451, "4.7.1 Greylisted, try again in 300 seconds", False, None),
    (452, "4.5.3 Too many recipients", False, None),
    (
        550,
        "5.1.1 <bob@example.net>: Recipient address rejected: User unknown",
        True,
        "invalid_contact",
    ),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found", True, "invalid_contact"),
    (553, "5.1.3 Bad recipient address syntax", True, "invalid_contact"),
    (
        550,
        "5.1.2 Host unknown (Name server: example.invalid: host not found)",
        True,
        "invalid_contact",
    ),
    (550, "Requested action not taken: mailbox unavailable", True, "invalid_contact"),
    (550, "No such user here", True, "invalid_contact"),
    (550, "5.7.1 Message rejected as spam", True, None),
    (550, "Message rejected by policy", True, None),
    (552, "5.2.2 Mailbox full", True, None),
    (554, "5.7.1 Relay access denied", True, None),
    (-1, "", False, None),
]


@pytest.mark.parametrize(("code", "reply", "permanent", "flag"), REPLIES)
def test_a_reply_is_transient_or_permanent_by_its_class(
    code: int, reply: str, permanent: bool, flag: str | None
) -> None:
    error = error_from_reply(code, reply.encode())
    assert error.permanent is permanent
    assert error.flag == flag
    assert error.code == str(code)


def test_addresses_in_a_reply_are_hidden() -> None:
    assert reply_text(b"5.1.1 <bob@example.net>:\r\n User unknown") == (
        "5.1.1 <address>: User unknown"
    )


EXCEPTIONS = [
    (TimeoutError("timed out"), "timeout"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out"), "timeout"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "disconnected"),
    (ConnectionRefusedError(111, "Connection refused"), "connection_refused"),
    (ConnectionResetError(104, "Connection reset by peer"), "connection_error"),
    (socket.gaierror(-2, "Name or service not known"), "connection_error"),
    (ssl.SSLCertVerificationError("certificate verify failed"), "tls_error"),
    (smtplib.SMTPConnectError(421, b"Too many connections"), "421"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication failed"), "535"),
    (smtplib.SMTPSenderRefused(451, b"4.3.0 Try later", "notices@example.org"), "451"),
    (smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported"), "smtp_error"),
    (smtplib.SMTPException("something else"), "smtp_error"),
    (RuntimeError("a bug of ours"), "error"),
]


@pytest.mark.parametrize(("exc", "code"), EXCEPTIONS, ids=[type(e).__name__ for e, _ in EXCEPTIONS])
def test_trouble_other_than_a_reply_is_transient(exc: BaseException, code: str) -> None:
    error = error_from_exception(exc)
    assert error.code == code
    assert not error.permanent


def test_a_refusal_of_every_recipient_names_them() -> None:
    error = error_from_exception(
        smtplib.SMTPRecipientsRefused({"bob@example.net": (550, b"5.1.1 User unknown")})
    )
    assert error.recipients == ("bob@example.net",)
    assert error.permanent
    assert error.flag == "invalid_contact"
