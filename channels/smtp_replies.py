"""What an SMTP reply or a socket error means for a delivery, as a ChannelError.

RFC 5321 4.2.1: a 4xx reply is transient, a 5xx permanent. The enhanced status code
(RFC 3463, ``5.1.1``) tells a bad address from a policy refusal: only the first marks the
contact invalid, so a spam filter's 550 5.7.1 never gets a resident's address flagged.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping

from channels.base import ChannelError

_ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# 5.1.1 bad mailbox, 5.1.2 bad domain, 5.1.3 bad address syntax, 5.1.6 moved, 5.1.10 null MX.
_BAD_ADDRESS_STATUS = frozenset({"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10"})
# For servers that send no enhanced status code.
_MAILBOX_UNKNOWN_TEXT = re.compile(
    r"unknown|no such|does ?n.t exist|not exist|not found|invalid (recipient|mailbox|address)"
    r"|mailbox unavailable|user unavailable|address rejected",
    re.IGNORECASE,
)
_ADDRESS_IN_TEXT = re.compile(r"<?[^\s<>@:;,\"'()\[\]]+@[^\s<>@:;,\"'()\[\]]+>?")


def reply_text(reply: bytes | str) -> str:
    """A reply on one line, with any email address in it replaced by ``<address>``."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    # Servers quote the address back ("<bob@x>: User unknown"); logs never name one.
    return _ADDRESS_IN_TEXT.sub("<address>", " ".join(text.split()))


def error_from_reply(code: int, reply: bytes | str) -> ChannelError:
    """One SMTP reply: 4xx transient, 5xx permanent, a bad mailbox flagged invalid_contact."""
    text = reply_text(reply)
    reason = f"{code} {text}".strip()
    if not 500 <= code < 600:
        # 4xx, and the -1 smtplib reports when the greeting never came.
        return ChannelError(reason, permanent=False, code=str(code))
    enhanced = _ENHANCED_STATUS.search(text)
    if enhanced is not None:
        bad_address = ".".join(enhanced.groups()) in _BAD_ADDRESS_STATUS
    else:
        bad_address = code in (550, 551, 553) and bool(_MAILBOX_UNKNOWN_TEXT.search(text))
    return ChannelError(
        reason, permanent=True, code=str(code), flag="invalid_contact" if bad_address else None
    )


def error_from_refusal(refused: Mapping[str, tuple[int, bytes]], total: int) -> ChannelError:
    """Refused recipients: only they failed (``recipients``); the others got the message."""
    errors = [error_from_reply(code, reply) for code, reply in refused.values()]
    first = errors[0]
    flags = {e.flag for e in errors}
    reason = first.reason if total == 1 else f"{len(refused)} of {total} refused: {first.reason}"
    return ChannelError(
        reason,
        permanent=all(e.permanent for e in errors),
        code=first.code,
        flag=flags.pop() if len(flags) == 1 else None,
        recipients=tuple(refused),
    )


def error_from_exception(exc: BaseException) -> ChannelError:
    """Whatever smtplib or the socket raised, as a ChannelError keeping the SMTP code."""
    if isinstance(exc, ChannelError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return error_from_refusal(exc.recipients, len(exc.recipients))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # A 535 is about our account, not the recipient: retried while the operator fixes it.
        return ChannelError(
            "the SMTP server refused the login (check email.username and email.password): "
            f"{exc.smtp_code} {reply_text(exc.smtp_error)}",
            permanent=False,
            code=str(exc.smtp_code),
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return error_from_reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ChannelError(
            f"TLS with the SMTP server failed: {exc}", permanent=False, code="tls_error"
        )
    if isinstance(exc, TimeoutError):
        return _timeout()
    if isinstance(exc, ConnectionRefusedError):
        return ChannelError(
            "the SMTP server refused the connection", permanent=False, code="connection_refused"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a read timeout as a disconnection; keep the two apart.
        if "timed out" in str(exc):
            return _timeout()
        return ChannelError(
            f"the SMTP server closed the connection: {exc}", permanent=False, code="disconnected"
        )
    if isinstance(exc, smtplib.SMTPException):
        # Before OSError, which SMTPException subclasses.
        return ChannelError(
            f"SMTP error: {type(exc).__name__}: {exc}", permanent=False, code="smtp_error"
        )
    if isinstance(exc, OSError):
        return ChannelError(
            f"cannot reach the SMTP server: {exc.strerror or exc}",
            permanent=False,
            code="connection_error",
        )
    return ChannelError(
        f"unexpected error: {type(exc).__name__}: {exc}", permanent=False, code="error"
    )


def _timeout() -> ChannelError:
    return ChannelError("the SMTP server did not answer in time", permanent=False, code="timeout")
