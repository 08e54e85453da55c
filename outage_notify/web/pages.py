"""The public pages: ``/`` (current, upcoming and recent outages, with filters) and
``/outages/{id}`` (times, areas drawn as SVG, the revision history, the feeds)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from channels.feeds import FeedOutage
from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.notices.public import utc_offset
from outage_notify.publishing.documents import feed_query
from outage_notify.publishing.publication import (
    OutageFilter,
    parse_filter,
    read_outage,
    unpublishable,
)
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.areamap import area_map
from outage_notify.web.language import page_language
from outage_notify.web.messages import translate
from outage_notify.web.published import Published, published
from outage_notify.web.templating import render_page

router = APIRouter(tags=["pages"], include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
PublishedDep = Annotated[Published, Depends(published)]


def sections(outages: Sequence[FeedOutage], now: datetime) -> list[tuple[str, list[FeedOutage]]]:
    """Under way now, upcoming (soonest first), and the rest (most recently ended first)."""
    current = [o for o in outages if o.status == "planned" and o.start <= now < o.end]
    upcoming = [o for o in outages if o.status == "planned" and now < o.start]
    recent = [o for o in outages if o not in current and o not in upcoming]
    recent.sort(key=lambda o: (o.ended_at, o.id), reverse=True)
    return [("current", current), ("upcoming", upcoming), ("recent", recent)]


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
    context = index_context(
        settings,
        view.snapshot.outages,
        view.snapshot.area_names(),
        outage_filter,
        language,
        view.now,
    )
    return render_page(request, "index.html", language=language, settings=settings, **context)


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
