"""The secrets that confirm a sign-up: the email link's token and the SMS code.

The email link carries the address and a random nonce, signed with ``web.secret_key``
(itsdangerous, salted for this purpose only, as the unsubscribe links are) and timed, so it
expires. The pending rows keep only the nonce's SHA-256: the database alone cannot forge a
link, and a newer sign-up replaces the hash, so only the newest link of a sign-up works.

The SMS code is 6 digits, so a plain hash would be reversed by trying all million; the rows
keep an HMAC of it keyed with ``web.secret_key`` and the number instead, together with the
count of wrong tries: ``hmac-sha256$<failed tries>$<hex digest>``. The count lives in the
same column so that limiting tries needs no schema change (see
docs/decisions/0011-subscribe-code-tries-beside-the-hash.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from outage_notify.errors import InputError
from outage_notify.settings import Settings

EMAIL_SALT = "outage-notify.subscribe-confirm.v1"
NUMBER_SALT = "outage-notify.subscribe-number.v1"
CODE_SCHEME = "hmac-sha256"
CODE_DIGITS = 6


def _secret(settings: Settings) -> str:
    return settings.web.require_secret("it signs the sign-up confirmation links")


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(settings), salt=salt)


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def email_token(settings: Settings, address: str, nonce: str) -> str:
    token: str = _serializer(settings, EMAIL_SALT).dumps([address, nonce])
    return token


def read_email_token(settings: Settings, token: str, max_age: timedelta) -> tuple[str, str]:
    """(address, nonce) of a confirmation link; InputError when altered or expired."""
    try:
        payload = _serializer(settings, EMAIL_SALT).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except SignatureExpired:
        raise InputError("this confirmation link has expired") from None
    except BadSignature:
        raise InputError("this confirmation link is not valid") from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(part, str) and part for part in payload)
    ):
        raise InputError("this confirmation link is not valid")
    return payload[0], payload[1]


def number_token(settings: Settings, number: str) -> str:
    """The number a code was sent to, signed for the code form's hidden field."""
    token: str = _serializer(settings, NUMBER_SALT).dumps(number)
    return token


def read_number_token(settings: Settings, token: str, max_age: timedelta) -> str:
    try:
        number = _serializer(settings, NUMBER_SALT).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except BadSignature:  # SignatureExpired included
        raise InputError("the code form is not valid or has expired") from None
    if not isinstance(number, str) or not number:
        raise InputError("the code form is not valid")
    return number


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _code_digest(settings: Settings, number: str, code: str) -> str:
    key = _secret(settings).encode()
    return hmac.new(key, f"{number}\n{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StoredCode:
    failed: int
    digest: str

    def __str__(self) -> str:
        return f"{CODE_SCHEME}${self.failed}${self.digest}"

    def matches(self, settings: Settings, number: str, code: str) -> bool:
        return hmac.compare_digest(self.digest, _code_digest(settings, number, code))

    def failed_once_more(self) -> StoredCode:
        return StoredCode(self.failed + 1, self.digest)


def stored_code(settings: Settings, number: str, code: str) -> StoredCode:
    return StoredCode(0, _code_digest(settings, number, code))


def parse_stored_code(value: str | None) -> StoredCode | None:
    """The code stored in a row, or None when the row holds no code (an email nonce's hash,
    or nothing)."""
    if not value:
        return None
    scheme, _, rest = value.partition("$")
    failed, _, digest = rest.partition("$")
    if scheme != CODE_SCHEME or not failed.isdigit() or not digest:
        return None
    return StoredCode(int(failed), digest)
