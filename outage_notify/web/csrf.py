"""CSRF protection for the forms: a signed double-submit cookie.

The first page of a form sets a random value in a cookie (HttpOnly, SameSite=Lax, Secure
over https) and puts the same value, signed with ``web.secret_key`` and timed, in a hidden
field. A post is accepted only when the field's signature holds, it is younger than
``MAX_AGE`` and it names the value of the cookie that came with it. Another site can make a
browser post to us but can neither read our cookie nor sign a field for it, and a field
copied from our page is useless without its cookie (OWASP's "signed double-submit cookie").
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from typing import TypeVar

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from outage_notify.settings import Settings
from outage_notify.web.templating import url_prefix

COOKIE = "outage_notify_csrf"
FIELD = "csrf_token"
SALT = "outage-notify.csrf.v1"
MAX_AGE = timedelta(hours=12)
R = TypeVar("R", bound=Response)
_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.web.secret_key.get_secret_value(), salt=SALT)


def cookie_value(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and _VALUE.fullmatch(value) else None


class FormToken:
    """The hidden field of one page, and its cookie: the browser's own value when it sent
    one (so two open tabs both work), set again so that it lives as long as the field."""

    def __init__(self, request: Request, settings: Settings) -> None:
        self.cookie = cookie_value(request) or secrets.token_urlsafe(32)
        self.field: str = _serializer(settings).dumps(self.cookie)
        self._secure = request.url.scheme == "https"
        self._path = url_prefix(settings) or "/"

    def apply(self, response: R) -> R:
        response.set_cookie(
            COOKIE,
            self.cookie,
            max_age=int(MAX_AGE.total_seconds()),
            path=self._path,
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )
        return response


def is_valid(request: Request, settings: Settings, field: str | None) -> bool:
    cookie = cookie_value(request)
    if not cookie or not field:
        return False
    try:
        signed = _serializer(settings).loads(field, max_age=int(MAX_AGE.total_seconds()))
    except BadSignature:  # SignatureExpired included
        return False
    return isinstance(signed, str) and hmac.compare_digest(signed, cookie)
