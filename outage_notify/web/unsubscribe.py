"""``GET|POST /unsubscribe/{token}``: the confirm page and the RFC 8058 one-click unsubscribe.

GET only shows a page: mail providers and link scanners fetch every link in a message, and
a GET that unsubscribed would unsubscribe people who never clicked. POST unsubscribes with
no cookie, login or CSRF token, as RFC 8058 requires of a one-click POST; the signed token
is the whole authority, and it can only ever unsubscribe the address it names.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from outage_notify import optouts, unsubscribe
from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.web import deps

log = logging.getLogger(__name__)
router = APIRouter()

PAGES = Environment(
    loader=PackageLoader("outage_notify", "web/templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_CHANNEL_NAMES = {"zh-CN": {"email": "邮件", "sms": "短信"}, "en": {"email": "email", "sms": "SMS"}}
_HEADERS = {
    # The token names an address: keep the page out of caches, search engines and Referer.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def page_language(query: str | None, accept_language: str | None, default: str) -> str:
    """``?lang=`` if shipped, else the best shipped match of Accept-Language, else default."""
    if query in SHIPPED_LANGUAGES:
        return query
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


def _language(request: Request, query: str | None, settings: Settings) -> str:
    return page_language(query, request.headers.get("accept-language"), settings.default_language)


def masked(address: str) -> str:
    """``r***@example.org``: enough for its owner to recognise, little for anyone else."""
    local, at, domain = address.partition("@")
    if not at:
        return address[:3] + "***"
    return f"{local[:1]}***@{domain}"


def _page(
    state: str,
    *,
    language: str,
    settings: Settings,
    token: str,
    channel: str = "email",
    address: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    other = "en" if language == "zh-CN" else "zh-CN"
    path = f"/unsubscribe/{quote(token, safe='')}"
    html = PAGES.get_template(f"unsubscribe.{language}.html").render(
        state=state,
        masked_address=masked(address),
        channel_name=_CHANNEL_NAMES[language].get(channel, channel),
        hotline=settings.hotline,
        action=f"{path}?lang={language}",
        other_language_url=f"{path}?lang={other}",
        home_url=f"{settings.public_url}/?lang={language}",
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str,
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    database: Annotated[Database, Depends(deps.database)],
    lang: str | None = None,
) -> HTMLResponse:
    """The confirm page. Changes nothing: link scanners fetch it."""
    language = _language(request, lang, settings)
    try:
        target = unsubscribe.read_token(settings, token)
    except InputError:
        return _page("invalid", language=language, settings=settings, token=token, status_code=400)
    with database.read() as session:
        already = optouts.is_opted_out(session, target.channel, target.address)
    return _page(
        "done" if already else "confirm",
        language=language,
        settings=settings,
        token=token,
        channel=target.channel,
        address=target.address,
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_now(
    token: str,
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    database: Annotated[Database, Depends(deps.database)],
    now: Annotated[datetime, Depends(deps.now)],
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    lang: str | None = None,
) -> HTMLResponse:
    """One-click (RFC 8058 body ``List-Unsubscribe=One-Click``) or the confirm page's form."""
    language = _language(request, lang, settings)
    try:
        target = unsubscribe.read_token(settings, token)
    except InputError:
        return _page("invalid", language=language, settings=settings, token=token, status_code=400)
    one_click = list_unsubscribe == "One-Click"
    with database.session() as session:
        result = unsubscribe.unsubscribe(
            session,
            target,
            actor="unsubscribe-link",
            reason="one-click (RFC 8058)" if one_click else "confirm page",
            now=now,
        )
    log.info(
        "unsubscribe link for %s: new opt-out %s, %d subscriptions ended (%s)",
        target.channel,
        result.opted_out,
        result.subscriptions_ended,
        "one-click" if one_click else "confirm page",
    )
    return _page(
        "done",
        language=language,
        settings=settings,
        token=token,
        channel=target.channel,
        address=target.address,
    )
