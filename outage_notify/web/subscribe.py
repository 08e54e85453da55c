"""``/subscribe``: anyone follows areas by email (a confirmation link) or SMS (a code).

Every form post is rate-limited per client (429 with Retry-After) and carries a CSRF token
(403 without a valid one), in that order, before anything is read or written. Bad input
shows the form again, with what was typed and a message per field, as 422; nothing is
written. Messages are sent after the transaction has committed (``subscriptions`` never
sends). ``GET /subscribe/confirm/{token}`` only shows a page with a button: mail scanners
fetch every link, and only the button's POST confirms.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.engine import limiter
from outage_notify.errors import InputError
from outage_notify.models import SubscriberStatus
from outage_notify.notices.page_words import translate
from outage_notify.residents import subscription_messages as messages
from outage_notify.residents.subscription_secrets import number_token, read_number_token
from outage_notify.residents.subscriptions import (
    BY_CODE,
    BY_LINK,
    EMAIL_LINK_VALID,
    SMS_CODE_VALID,
    Requested,
    SignUp,
    confirm_email,
    confirm_sms_code,
    forget_request,
    read_confirmation,
    request_subscription,
)
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.web import csrf, deps
from outage_notify.web.area_choices import area_groups, area_names
from outage_notify.web.language import page_language
from outage_notify.web.subscribe_form import FormValues, check_form
from outage_notify.web.templating import render_page, url_prefix
from outage_notify.web.throttle import retry_after
from outage_notify.web.unsubscribe import masked

router = APIRouter(include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]
FormText = Annotated[str | None, Form()]

HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
# A confirmation link's page: its URL is a secret, so no Referer may carry it away.
LINK_HEADERS = {**HEADERS, "Referrer-Policy": "no-referrer"}


class Pages:
    """The pages of one request, in its language, with the form token when they carry a form."""

    def __init__(self, request: Request, settings: Settings) -> None:
        self.request, self.settings = request, settings
        self.language = page_language(request, settings)

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        token: csrf.FormToken | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        response = render_page(
            self.request,
            template,
            language=self.language,
            settings=self.settings,
            status_code=status,
            headers={**HEADERS, **(headers or {})},
            csrf_field=token.field if token else "",
            **context,
        )
        return token.apply(response) if token else response

    def step(self, step: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("error", None)
        return self.render("subscribe_step.html", status=status, step=step, **context)

    def with_form(self, step: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        token = csrf.FormToken(self.request, self.settings)
        return self.render(
            "subscribe_step.html",
            status=status,
            token=token,
            step=step,
            error=context.pop("error", None),
            **context,
        )

    def form(
        self, session: Session, values: FormValues, errors: dict[str, str], status: int = 200
    ) -> HTMLResponse:
        return self.render(
            "subscribe.html",
            status=status,
            token=csrf.FormToken(self.request, self.settings),
            groups=area_groups(session, self.language),
            values=values,
            errors=errors,
            language_choices=[(c, translate(c, "language_name")) for c in SHIPPED_LANGUAGES],
        )

    def refusal(self, csrf_field: str | None) -> HTMLResponse | None:
        """For a form post: 429 when the client posts too fast, else 403 without a valid
        CSRF token, else None (go on)."""
        wait = retry_after(self.request)
        if wait:
            return self.step("slow", status=429, seconds=wait, headers={"Retry-After": str(wait)})
        if not csrf.is_valid(self.request, self.settings, csrf_field):
            return self.step("csrf", status=403)
        return None


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    area: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    pages = Pages(request, settings)
    values = FormValues(areas=area or [], language=pages.language)
    with database.read() as session:
        return pages.form(session, values, {})


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    csrf_token: FormText = None,
    channel: FormText = None,
    email: FormText = None,
    phone: FormText = None,
    area: Annotated[list[str] | None, Form()] = None,
    language: FormText = None,
) -> HTMLResponse:
    pages = Pages(request, settings)
    refused = pages.refusal(csrf_token)
    if refused is not None:
        return refused
    values = FormValues(channel or "", email or "", phone or "", area or [], language or "")
    with database.read() as session:
        sign_up, errors = check_form(session, settings, values, pages.language)
        if sign_up is None:
            return pages.form(session, values, errors, status=422)
    with database.session() as session:
        requested = request_subscription(session, settings, sign_up, now=now)
        names = area_names(session, requested.area_codes, sign_up.language)
    return _after_request(pages, database, sign_up, requested, names)


def _after_request(
    pages: Pages, database: Database, sign_up: SignUp, requested: Requested, names: str
) -> HTMLResponse:
    settings, address = pages.settings, sign_up.address
    minutes = int(SMS_CODE_VALID.total_seconds() // 60)
    if requested.outcome == "already":
        return pages.step("already", address=address)
    if requested.outcome == "wait":
        seconds = requested.retry_after
        return pages.step(
            "wait",
            status=429,
            address=address,
            seconds=seconds,
            headers={"Retry-After": str(seconds)},
        )
    if requested.outcome == "reply_yes":
        number = settings.sms.from_number or translate(pages.language, "subscribe_our_number")
        return pages.step("reply_yes", address=address, number=number, minutes=minutes)
    assert requested.secret is not None
    assert requested.expires_at is not None
    recipient = f"subscriber:{requested.subscriber_ids[0]}" if requested.subscriber_ids else "-"
    by_link = registry.spec(sign_up.channel).confirm_by == "link"
    if by_link:
        message = messages.confirmation_email(
            settings,
            address=address,
            language=sign_up.language,
            area_names=names,
            token=requested.secret,
            recipient_id=recipient,
        )
    else:
        message = messages.code_sms(
            settings,
            address=address,
            language=sign_up.language,
            code=requested.secret,
            recipient_id=recipient,
            valid_until=requested.expires_at,
        )
    # Through the channel's rate limiter: codes and notices share sms.max_per_second.
    sent = messages.send_now(
        message,
        messages.backend(settings, sign_up.channel),
        wait=limiter(settings, sign_up.channel).acquire,
    )
    if not sent:
        with database.session() as session:
            forget_request(session, requested.subscriber_ids)
        return pages.step("failed", status=503)
    if by_link:
        return pages.step(
            "inbox",
            address=address,
            days=EMAIL_LINK_VALID.days,
            was_opted_out=requested.was_opted_out,
        )
    return pages.with_form(
        "code", address=address, minutes=minutes, number_token=number_token(settings, address)
    )


def _digits(code: str | None) -> str:
    # Full-width digits from a Chinese keyboard, and spaces from a pasted "123 456".
    return "".join(unicodedata.normalize("NFKC", code or "").split())


@router.post("/subscribe/verify", response_class=HTMLResponse)
def verify_code(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    csrf_token: FormText = None,
    number: FormText = None,
    code: FormText = None,
) -> HTMLResponse:
    pages = Pages(request, settings)
    refused = pages.refusal(csrf_token)
    if refused is not None:
        return refused
    try:
        address = read_number_token(settings, number or "", SMS_CODE_VALID * 4)
    except InputError:
        return pages.step("link_bad", status=400)
    minutes = int(SMS_CODE_VALID.total_seconds() // 60)
    again = {"address": address, "minutes": minutes, "number_token": number}
    typed = _digits(code)
    if not (typed.isdigit() and typed.isascii() and len(typed) == 6):
        error = translate(pages.language, "subscribe_code_format")
        return pages.with_form("code", status=422, error=error, **again)
    with database.session() as session:
        check = confirm_sms_code(session, settings, address, typed, now=now)
        names = (
            area_names(session, check.confirmed.area_codes, pages.language)
            if check.confirmed
            else ""
        )
    if check.outcome == "confirmed":
        return pages.step("done", address=address, areas=names, channel_key=BY_CODE)
    if check.outcome == "wrong":
        error = translate(pages.language, "subscribe_code_wrong", left=check.tries_left)
        return pages.with_form("code", status=422, error=error, **again)
    error = translate(pages.language, f"subscribe_code_{check.outcome}")
    return pages.step("code_over", status=422, error=error)


def _confirm_action(settings: Settings, token: str, language: str) -> str:
    return f"{url_prefix(settings)}/subscribe/confirm/{quote(token, safe='')}?lang={language}"


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str, request: Request, settings: SettingsDep, database: DatabaseDep, now: NowDep
) -> HTMLResponse:
    """Shows what the link confirms, and a button. Changes nothing: link scanners fetch it."""
    pages = Pages(request, settings)
    try:
        with database.read() as session:
            rows = read_confirmation(session, settings, token, now=now)
            names = area_names(session, [r.area_code for r in rows], pages.language)
    except InputError:
        return pages.step("link_bad", status=400, headers=LINK_HEADERS)
    address = masked(rows[0].address)
    if all(r.status == SubscriberStatus.ACTIVE for r in rows):
        return pages.step(
            "done", address=address, areas=names, channel_key=BY_LINK, headers=LINK_HEADERS
        )
    return pages.with_form(
        "confirm",
        address=address,
        areas=names,
        headers=LINK_HEADERS,
        action=_confirm_action(settings, token, pages.language),
    )


@router.post("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm(
    token: str,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    csrf_token: FormText = None,
) -> HTMLResponse:
    pages = Pages(request, settings)
    refused = pages.refusal(csrf_token)
    if refused is not None:
        return refused
    try:
        with database.session() as session:
            confirmed = confirm_email(session, settings, token, now=now)
            names = area_names(session, confirmed.area_codes, pages.language)
    except InputError:
        return pages.step("link_bad", status=400, headers=LINK_HEADERS)
    return pages.step(
        "done",
        address=masked(confirmed.address),
        areas=names,
        channel_key=BY_LINK,
        headers=LINK_HEADERS,
    )
