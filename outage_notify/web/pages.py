"""The public pages: ``/`` (current, upcoming and recent outages, with filters) and
``/outages/{id}`` (times, areas drawn as SVG, the revision history, the feeds)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.notices.page_words import translate
from outage_notify.publishing.html import language_links, render_html, url_prefix
from outage_notify.publishing.publication import parse_filter, read_outage, unpublishable
from outage_notify.publishing.site_pages import index_context, outage_context
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.language import page_language
from outage_notify.web.published import Published, conditional_response, published
from outage_notify.web.templating import PAGE_HEADERS, render_page

router = APIRouter(tags=["pages"], include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
PublishedDep = Annotated[Published, Depends(published)]


@router.get("/")
def index(
    request: Request,
    settings: SettingsDep,
    site: PublishedDep,
    utility: Annotated[list[str] | None, Query()] = None,
    area: Annotated[list[str] | None, Query()] = None,
) -> Response:
    language = page_language(request, settings)
    view = site.view()
    try:
        outage_filter = parse_filter(utility or [], area or [], view.snapshot.areas)
    except InputError as error:
        return _error(request, settings, language, 400, "bad_request", str(error))
    links = language_links(
        request.url.path, list(request.query_params.multi_items()), url_prefix(settings)
    )

    def build() -> tuple[bytes, datetime | None]:
        context = index_context(
            settings,
            view.snapshot.outages,
            view.snapshot.area_names(),
            outage_filter,
            language,
            view.now,
        )
        html = render_html(
            "index.html", language=language, settings=settings, languages=links, **context
        )
        return html.encode(), _earliest(view.snapshot.valid_until, _next_hour(view.now))

    # Cached with the feeds, under the same marker: a request costs one fingerprint query
    # until an outage changes or starts or ends.
    key = ("index", outage_filter, language, tuple(links))
    rendered = site.rendered(view, key, "text/html; charset=utf-8", build)
    return conditional_response(request, rendered, headers=CACHED_PAGE_HEADERS, max_age=0)


# Both negotiations are in the key of a cached page.
CACHED_PAGE_HEADERS = {**PAGE_HEADERS, "Vary": "Accept-Encoding, Accept-Language"}


def _next_hour(now: datetime) -> datetime:
    # The page names the UTC offset, which a DST change moves on an hour's boundary.
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _earliest(first: datetime | None, second: datetime) -> datetime:
    return second if first is None else min(first, second)


@router.get("/outages/{outage_id}")
def outage_page(
    request: Request,
    outage_id: str,
    settings: SettingsDep,
    database: DatabaseDep,
    site: PublishedDep,
) -> Response:
    language = page_language(request, settings)
    try:
        if not outage_id.isdigit() or len(outage_id) > 18:
            raise NotFoundError(f"no outage {outage_id}")
        with database.read() as session:
            outage = read_outage(session, settings, int(outage_id))
    except NotFoundError:
        return _error(request, settings, language, 404, "not_found", None)
    view = site.view()
    try:
        context = outage_context(settings, outage, language, view.now, view.snapshot.areas)
    except Exception as exc:  # this page only: every other outage's page is still served
        unpublishable(outage.id, exc)
        return _error(request, settings, language, 404, "not_found", None)
    return render_page(request, "outage.html", language=language, settings=settings, **context)


def _error(
    request: Request,
    settings: Settings,
    language: str,
    status: int,
    heading: str,
    message: str | None,
) -> Response:
    return render_page(
        request,
        "error.html",
        language=language,
        settings=settings,
        status_code=status,
        heading=translate(language, heading),
        message=message or translate(language, "not_found_text"),
    )
