"""Unsubscribe links: signed tokens that name a channel and an address, and the opt-out.

A token is the channel and the address, signed with ``web.secret_key`` (itsdangerous, salted
for this purpose only, so no other signed value of ours can pass for one). Verifying it needs
no database: a link keeps working after a restore from backup, for an address that was never
in the database (a forwarded notice), and for as long as the key stays the same, which
RFC 8058 asks of a List-Unsubscribe link.
See docs/decisions/0004-unsubscribe-tokens-carry-the-address.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, col, select

from outage_notify import audit
from outage_notify.db import utcnow
from outage_notify.errors import InputError, SettingsError
from outage_notify.models import Channel, Subscriber
from outage_notify.residents import optouts
from outage_notify.settings import Settings

SALT = "outage-notify.unsubscribe.v1"
ONE_CLICK = "List-Unsubscribe=One-Click"  # the body of an RFC 8058 POST
_CHANNELS = frozenset(c.value for c in Channel)


@dataclass(frozen=True)
class UnsubscribeToken:
    channel: str
    address: str


@dataclass(frozen=True)
class UnsubscribeResult:
    opted_out: bool  # False when the address had already opted out
    subscriptions_ended: int  # Subscriber rows of the address set to "unsubscribed"


def _serializer(settings: Settings) -> URLSafeSerializer:
    secret = settings.web.secret_key.get_secret_value()
    if not secret:
        raise SettingsError(
            "config key web.secret_key is empty: it signs the unsubscribe links in every "
            "email; set it (for example with OUTAGE_NOTIFY_WEB__SECRET_KEY_FILE)"
        )
    return URLSafeSerializer(secret, salt=SALT)


def make_token(settings: Settings, *, channel: str, address: str) -> str:
    """A URL-safe token for ``address`` on ``channel``. Raises SettingsError without a key."""
    if channel not in _CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    token: str = _serializer(settings).dumps([channel, address])
    return token


def read_token(settings: Settings, token: str) -> UnsubscribeToken:
    """The channel and address a token names. Raises InputError on a bad or altered token."""
    try:
        payload = _serializer(settings).loads(token)
    except BadSignature:
        raise InputError(
            "this unsubscribe link is not valid (it is incomplete or altered)"
        ) from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or payload[0] not in _CHANNELS
        or not isinstance(payload[1], str)
        or not payload[1]
    ):
        raise InputError("this unsubscribe link is not valid")
    return UnsubscribeToken(channel=payload[0], address=payload[1])


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/unsubscribe/{token}"


def unsubscribe_mailto(settings: Settings, token: str) -> str:
    """A mailto: to the From address; the token in the subject says who wants out."""
    address = settings.email.from_address.rsplit("<", 1)[-1].rstrip(">").strip()
    return f"mailto:{address}?subject={quote('unsubscribe ' + token)}"


def list_unsubscribe_headers(settings: Settings, token: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058 headers for ``token``'s address: the https link first, then mailto."""
    return {
        "List-Unsubscribe": (
            f"<{unsubscribe_url(settings, token)}>, <{unsubscribe_mailto(settings, token)}>"
        ),
        "List-Unsubscribe-Post": ONE_CLICK,
    }


def unsubscribe(
    session: Session,
    token: UnsubscribeToken,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> UnsubscribeResult:
    """Opt the address out of the channel and end its area subscriptions. Idempotent."""
    now = now or utcnow()
    source = "email" if token.channel == Channel.EMAIL else "web"
    opted_out = optouts.opt_out(
        session,
        channel=token.channel,
        address=token.address,
        source=source,
        actor=actor,
        reason=reason,
    )
    rows = session.exec(
        select(Subscriber).where(
            Subscriber.channel == token.channel,
            Subscriber.address == token.address,
            col(Subscriber.status) != "unsubscribed",
        )
    ).all()
    for row in rows:
        before = row.status
        row.status = "unsubscribed"
        row.updated_at = now
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="subscriber.unsubscribe",
            entity="subscriber",
            entity_id=row.id,
            before={"status": before},
            after={"status": row.status, "source": source},
        )
    return UnsubscribeResult(opted_out=opted_out, subscriptions_ended=len(rows))
