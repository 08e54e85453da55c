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

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.notices.unsubscribe_links import read_token
from outage_notify.residents import optouts, unsubscribe
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.language import page_language
from outage_notify.web.templating import render_page, url_prefix

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)  # HTML pages, as the other pages

HEADERS = {
    # The token names an address: keep the page out of caches, search engines and Referer.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}


def masked(address: str) -> str:
    """``r***@example.org``: enough for its owner to recognise, little for anyone else."""
    local, at, domain = address.partition("@")
    if not at:
        return address[:3] + "***"
    return f"{local[:1]}***@{domain}"


def _page(
    request: Request,
    state: str,
    *,
    settings: Settings,
    token: str,
    channel: str = registry.EMAIL.name,
    address: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request, settings)
    path = f"{url_prefix(settings)}/unsubscribe/{quote(token, safe='')}"
    return render_page(
        request,
        "unsubscribe.html",
        language=language,
        settings=settings,
        status_code=status_code,
        headers=HEADERS,
        state=state,
        masked_address=masked(address),
        channel_key=channel,
        action=f"{path}?lang={language}",
    )


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str,
    request: Request,
    settings: Annotated[Settings, Depends(deps.settings)],
    database: Annotated[Database, Depends(deps.database)],
) -> HTMLResponse:
    """The confirm page. Changes nothing: link scanners fetch it."""
    try:
        target = read_token(settings, token)
    except InputError:
        return _page(request, "invalid", settings=settings, token=token, status_code=400)
    with database.read() as session:
        already = optouts.is_opted_out(session, target.channel, target.address)
    return _page(
        request,
        "done" if already else "confirm",
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
) -> HTMLResponse:
    """One-click (RFC 8058 body ``List-Unsubscribe=One-Click``) or the confirm page's form."""
    try:
        target = read_token(settings, token)
    except InputError:
        return _page(request, "invalid", settings=settings, token=token, status_code=400)
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
        request,
        "done",
        settings=settings,
        token=token,
        channel=target.channel,
        address=target.address,
    )
