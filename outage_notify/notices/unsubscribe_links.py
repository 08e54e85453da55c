"""Unsubscribe links: signed tokens that name a channel and an address.

A token is the channel and the address, signed with ``web.secret_key`` (itsdangerous, salted
for this purpose only, so no other signed value of ours can pass for one). Verifying it needs
no database: a link keeps working after a restore from backup, for an address that was never
in the database (a forwarded notice), and for as long as the key stays the same, which
RFC 8058 asks of a List-Unsubscribe link.
See docs/decisions/0004-unsubscribe-tokens-carry-the-address.md. The opt-out a token asks
for is ``residents/unsubscribe.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from outage_notify import registry
from outage_notify.errors import InputError
from outage_notify.settings import Settings

SALT = "outage-notify.unsubscribe.v1"
ONE_CLICK = "List-Unsubscribe=One-Click"  # the body of an RFC 8058 POST


@dataclass(frozen=True)
class UnsubscribeToken:
    channel: str
    address: str


def _serializer(settings: Settings) -> URLSafeSerializer:
    secret = settings.web.require_secret("it signs the unsubscribe links in every email")
    return URLSafeSerializer(secret, salt=SALT)


def make_token(settings: Settings, *, channel: str, address: str) -> str:
    """A URL-safe token for ``address`` on ``channel``. Raises SettingsError without a key."""
    if channel not in registry.CHANNELS:
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
        or payload[0] not in registry.CHANNELS
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
