"""The public pages: ``/`` (current, upcoming and recent outages, with filters) and
``/outages/{id}`` (times, areas drawn as SVG, the revision history, the feeds)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from channels.feeds import FeedOutage
from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.notices.public import utc_offset
from outage_notify.publishing.documents import feed_query
from outage_notify.publishing.publication import OutageFilter, parse_filter, read_outage
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.areamap import area_map
from outage_notify.web.language import page_language
from outage_notify.web.messages import translate
from outage_notify.web.published import Published, conditional_response, published
from outage_notify.web.templating import (
    PAGE_HEADERS,
    language_links,
    render_html,
    render_page,
    url_prefix,
)

router = APIRouter(tags=["pages"], include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
PublishedDep = Annotated[Published, Depends(published)]


def sections(outages: Sequence[FeedOutage], now: datetime) -> list[tuple[str, list[FeedOutage]]]:
    """Under way now, upcoming (soonest first), and the rest (most recently ended first)."""
    # One pass: a membership test on the other lists compared dataclasses field by field,
    # quadratic (35 s for 5,000 outages).
    parts: dict[str, list[FeedOutage]] = {"current": [], "upcoming": [], "recent": []}
    for outage in outages:
        if outage.status == "planned" and outage.start <= now < outage.end:
            parts["current"].append(outage)
        elif outage.status == "planned" and now < outage.start:
            parts["upcoming"].append(outage)
        else:
            parts["recent"].append(outage)
    parts["recent"].sort(key=lambda o: (o.ended_at, o.id), reverse=True)
    return list(parts.items())


def feed_links(settings: Settings, outage_filter: OutageFilter, language: str) -> dict[str, str]:
    """Links to the feeds with the page's filter, in the page's language."""
    query = feed_query(outage_filter, language if language != settings.default_language else None)
    suffix = f"?{query}" if query else ""
    base = settings.public_url
    webcal = "webcal://" + base.split("://", 1)[1]
    return {
        "rss": f"{base}/feeds/outages.rss{suffix}",
        "atom": f"{base}/feeds/outages.atom{suffix}",
        "ics": f"{base}/feeds/outages.ics{suffix}",
        "webcal": f"{webcal}/feeds/outages.ics{suffix}",
        "cap": f"{base}/feeds/cap.atom{suffix}",
    }


def index_context(
    settings: Settings,
    snapshot_outages: Sequence[FeedOutage],
    areas: Any,
    outage_filter: OutageFilter,
    language: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "sections": sections(outage_filter.apply(snapshot_outages), now),
        "areas": areas,
        "outage_filter": outage_filter,
        "feed_links": feed_links(settings, outage_filter, language),
        "offset": utc_offset(now.astimezone(settings.zone)),
        "now": now,
    }


def outage_context(
    settings: Settings,
    outage: FeedOutage,
    language: str,
    now: datetime,
    known_areas: Collection[str],
) -> dict[str, Any]:
    # Feeds of this outage's areas (an area since removed would make the link a 400).
    areas = tuple(a.code for a in outage.areas if a.code in known_areas)
    return {
        "outage": outage,
        "reason": outage.history[-1].reason,
        "area_map": area_map(outage.areas, outage.text(language).area_names),
        "feed_links": feed_links(settings, OutageFilter(areas=areas), language),
        "cap_url": f"{settings.public_url}/cap/{outage.id}-{outage.revision}.xml",
        "offset": utc_offset(outage.start),
        "now": now,
    }


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
    context = outage_context(settings, outage, language, view.now, view.snapshot.areas)
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
