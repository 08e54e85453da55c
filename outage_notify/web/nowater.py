"""``/outages/{id}/nowater``: "still no water?" after a restoration, from the outage's page.

The form asks for the account number on the bill (the premise). A post is rate-limited and
CSRF-checked like the sign-up forms, then tied to the outage when the account's areas (by
code or by premise location, as its notices were matched) include one of the outage's. The
acknowledgement goes by SMS to the phone on the account, after the commit, with any alert
the report raised. Neither the account number nor anything of the customer is shown back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from channels.base import Message
from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.engine import limiter
from outage_notify.models import Customer, Outage
from outage_notify.notices.page_words import translate
from outage_notify.planning.customers import find_customer
from outage_notify.planning.lookup import MAX_ACCOUNT, account_areas
from outage_notify.residents import nowater, optouts
from outage_notify.residents.subscription_messages import backend, send_now
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.web import csrf, deps
from outage_notify.web.language import page_language
from outage_notify.web.templating import render_page
from outage_notify.web.throttle import retry_after

router = APIRouter(include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[Any, Depends(deps.now)]
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _outage(database: Database, outage_id: str) -> Outage | None:
    if not outage_id.isdigit() or len(outage_id) > 18:
        return None
    with database.read() as session:
        return session.get(Outage, int(outage_id))


def _page(
    request: Request, settings: Settings, outage: Outage, *, status: int = 200, **context: Any
) -> HTMLResponse:
    token = csrf.FormToken(request, settings)
    values = {"message": "", "problem": "", "done": False, **context}
    response = render_page(
        request,
        "nowater.html",
        language=page_language(request, settings),
        settings=settings,
        status_code=status,
        headers=HEADERS,
        outage=outage,
        csrf_field=token.field,
        **values,
    )
    return token.apply(response)


@router.get("/outages/{outage_id}/nowater", response_class=HTMLResponse)
def nowater_form(
    request: Request, outage_id: str, settings: SettingsDep, database: DatabaseDep, now: NowDep
) -> HTMLResponse:
    outage = _outage(database, outage_id)
    if outage is None:
        return HTMLResponse("Not found\n", status_code=404)
    language = page_language(request, settings)
    if not nowater.taking_reports(outage, settings, now):
        problem = translate(language, "nowater_not_restored", hotline=settings.hotline)
        return _page(request, settings, outage, problem=problem)
    return _page(request, settings, outage)


@router.post("/outages/{outage_id}/nowater", response_class=HTMLResponse)
def nowater_report(
    request: Request,
    outage_id: str,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    csrf_token: Annotated[str | None, Form()] = None,
    account: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    outage = _outage(database, outage_id)
    if outage is None:
        return HTMLResponse("Not found\n", status_code=404)
    language = page_language(request, settings)
    wait = retry_after(request)
    if wait:
        problem = translate(language, "lookup_too_many", seconds=wait)
        response = _page(request, settings, outage, status=429, problem=problem)
        response.headers["Retry-After"] = str(wait)
        return response
    if not csrf.is_valid(request, settings, csrf_token):
        problem = translate(language, "subscribe_csrf")
        return _page(request, settings, outage, status=403, problem=problem)
    if not nowater.taking_reports(outage, settings, now):
        problem = translate(language, "nowater_not_restored", hotline=settings.hotline)
        return _page(request, settings, outage, status=409, problem=problem)
    text = (account or "").strip()[: MAX_ACCOUNT + 1]
    acknowledgement: Message | None = None
    with database.session() as session:
        mine = set(account_areas(session, text))
        area = next((c for c in outage.area_codes if c in mine), None)
        if area is None:  # no such account, or not in this outage's areas: the same answer
            problem = translate(language, "nowater_not_matched", hotline=settings.hotline)
            return _page(request, settings, outage, status=422, problem=problem)
        customer = find_customer(session, text)
        filed = nowater.file_report(
            session,
            settings,
            outage=outage,
            area_code=area,
            reporter=f"customer:{customer.id}",
            customer_id=customer.id,
            source="web",
            now=now,
        )
        opted_out = bool(customer.phone) and optouts.is_opted_out(
            session, registry.SMS.name, customer.phone or ""
        )
        if filed.counted and not opted_out:
            acknowledgement = _acknowledgement(settings, customer, outage)
    if acknowledgement is not None:
        # Through the channel's rate limiter: acknowledgements and notices share the rate.
        send_now(
            acknowledgement,
            backend(settings, registry.SMS.name),
            wait=limiter(settings, registry.SMS.name).acquire,
        )
    nowater.send_alerts(database, settings, now)
    message = translate(language, "nowater_thanks", hotline=settings.hotline)
    return _page(request, settings, outage, message=message, done=True)


def _acknowledgement(settings: Settings, customer: Customer, outage: Outage) -> Message | None:
    if not customer.phone or customer.phone_invalid:
        return None
    language = customer.language if customer.language in SHIPPED_LANGUAGES else "zh-CN"
    return Message(
        delivery_id=0,
        recipient_id=f"customer:{customer.id}",
        address=customer.phone,
        language=language,
        text=nowater.acknowledgement(outage, language, settings),
    )
