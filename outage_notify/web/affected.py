"""``POST /affected``: "am I affected?" by the browser's location or by an account number.

Both are posted, never put in a URL, so neither reaches an access log, a Referer or the
browser's history; neither is stored or logged here. Each post takes a token of the forms'
per-client throttle (429 with Retry-After beyond it), so account numbers cannot be tried in
bulk. No CSRF token: a look-up changes nothing, and another site that makes a browser post
one cannot read the answer.

What an answer may tell (docs/decisions/0017-am-i-affected-tells-areas-only.md): a
location's areas, and the current and upcoming outages there. An account number with such
outages gets its areas and them; one without (or no such account) gets the same sentence,
"no current or upcoming shutoffs found", so the page cannot be used to learn which account
numbers exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from channels.feeds import FeedOutage
from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.notices.page_words import translate
from outage_notify.planning.lookup import account_areas, parse_point, point_areas
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.area_choices import area_choices
from outage_notify.web.language import page_language
from outage_notify.web.published import Published, published
from outage_notify.web.templating import render_page
from outage_notify.web.throttle import retry_after

router = APIRouter(include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
PublishedDep = Annotated[Published, Depends(published)]
FormText = Annotated[str | None, Form()]
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def ahead(outages: list[FeedOutage], codes: list[str], now: Any) -> list[FeedOutage]:
    """The planned outages in these areas that have not ended, soonest first."""
    wanted = set(codes)
    return [
        o
        for o in outages
        if o.status == "planned" and now < o.end and any(a.code in wanted for a in o.areas)
    ]


@router.post("/affected", response_class=HTMLResponse)
def affected(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    site: PublishedDep,
    latitude: FormText = None,
    longitude: FormText = None,
    account: FormText = None,
) -> HTMLResponse:
    language = page_language(request, settings)

    def page(status: int = 200, **context: Any) -> HTMLResponse:
        values: dict[str, Any] = {"by": "", "areas": [], "outages": [], "problem": "", **context}
        return render_page(
            request,
            "affected.html",
            language=language,
            settings=settings,
            status_code=status,
            headers=HEADERS,
            now=view.now,
            **values,
        )

    view = site.view()
    wait = retry_after(request)
    if wait:
        problem = translate(language, "lookup_too_many", seconds=wait)
        response = page(429, problem=problem)
        response.headers["Retry-After"] = str(wait)
        return response
    by_account = latitude is None and longitude is None
    with database.read() as session:
        if by_account:
            text = (account or "").strip()
            if not text:
                return page(422, by="account", problem=translate(language, "lookup_bad_account"))
            codes = account_areas(session, text)
            outages = ahead(list(view.snapshot.outages), codes, view.now)
            if not outages:  # no such account, or one with nothing ahead: the same answer
                return page(by="account")
        else:
            try:
                point = parse_point(latitude, longitude)
            except InputError as error:
                problem = translate(language, "lookup_bad_location", problem=str(error))
                return page(422, by="location", problem=problem)
            codes = point_areas(session, point)
            outages = ahead(list(view.snapshot.outages), codes, view.now)
        areas = area_choices(session, language, codes)
    return page(by="account" if by_account else "location", areas=areas, outages=outages)
