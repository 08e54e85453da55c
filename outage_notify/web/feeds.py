"""The feeds: ``/feeds/outages.rss``, ``.atom``, ``.ics``, ``/feeds/cap.atom`` and the CAP
alerts at ``/cap/{id}-{revision}.xml``.

``?utility=`` and ``?area=`` filter (each may repeat); ``?lang=`` picks the language. An
unknown value is a 400 with a plain-text reason, never an empty feed: a subscriber with a typo
in the URL would otherwise believe there is nothing planned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from outage_notify.errors import InputError, NotFoundError
from outage_notify.publishing.documents import ATOM_TYPE, CAP_TYPE, ICS_TYPE, RSS_TYPE, Publisher
from outage_notify.publishing.publication import (
    OutageFilter,
    Snapshot,
    next_change,
    parse_filter,
    read_outage,
    unpublishable,
)
from outage_notify.web.language import requested_language
from outage_notify.web.published import Published, conditional_response, published

router = APIRouter(tags=["feeds"])

Renderer = Callable[[Publisher, Snapshot, OutageFilter, str | None], bytes]
FEEDS: dict[str, tuple[str, Renderer]] = {
    "rss": (RSS_TYPE, Publisher.rss),
    "atom": (ATOM_TYPE, Publisher.atom),
    "ics": (ICS_TYPE, Publisher.ics),
    "cap": (ATOM_TYPE, Publisher.cap_index),
}
ALERT_NAME = re.compile(r"([0-9]{1,18})-([0-9]{1,9})\.xml")

Utilities = Annotated[list[str] | None, Query(description="water or gas; may repeat")]
Areas = Annotated[list[str] | None, Query(description="a service area code; may repeat")]
Language = Annotated[str | None, Query(description="zh-CN or en")]


def bad_request(error: InputError) -> PlainTextResponse:
    return PlainTextResponse(f"Bad request: {error}\n", status_code=400)


def _feed(
    request: Request,
    kind: str,
    site: Published,
    utility: list[str] | None,
    area: list[str] | None,
    lang: str | None,
) -> Response:
    view = site.view()
    try:
        outage_filter = parse_filter(utility or [], area or [], view.snapshot.areas)
        # None when the URL names no language: the feed's self link then names none either.
        language = requested_language(lang, site.settings) if lang and lang.strip() else None
    except InputError as error:
        return bad_request(error)
    media_type, render = FEEDS[kind]

    def build() -> tuple[bytes, datetime | None]:
        body = render(site.publisher, view.snapshot, outage_filter, language)
        return body, view.snapshot.valid_until

    rendered = site.rendered(view, (kind, outage_filter, language), media_type, build)
    return conditional_response(request, rendered)


PublishedDep = Annotated[Published, Depends(published)]


@router.head("/feeds/outages.rss", response_class=Response, include_in_schema=False)
@router.get("/feeds/outages.rss", response_class=Response)
def outages_rss(
    request: Request,
    site: PublishedDep,
    utility: Utilities = None,
    area: Areas = None,
    lang: Language = None,
) -> Response:
    """RSS 2.0 with GeoRSS polygons."""
    return _feed(request, "rss", site, utility, area, lang)


@router.head("/feeds/outages.atom", response_class=Response, include_in_schema=False)
@router.get("/feeds/outages.atom", response_class=Response)
def outages_atom(
    request: Request,
    site: PublishedDep,
    utility: Utilities = None,
    area: Areas = None,
    lang: Language = None,
) -> Response:
    """Atom 1.0 with GeoRSS polygons."""
    return _feed(request, "atom", site, utility, area, lang)


@router.head("/feeds/outages.ics", response_class=Response, include_in_schema=False)
@router.get("/feeds/outages.ics", response_class=Response)
def outages_ics(
    request: Request,
    site: PublishedDep,
    utility: Utilities = None,
    area: Areas = None,
    lang: Language = None,
) -> Response:
    """iCalendar: one event per outage (subscribe with webcal://)."""
    return _feed(request, "ics", site, utility, area, lang)


@router.head("/feeds/cap.atom", response_class=Response, include_in_schema=False)
@router.get("/feeds/cap.atom", response_class=Response)
def cap_atom(
    request: Request,
    site: PublishedDep,
    utility: Utilities = None,
    area: Areas = None,
    lang: Language = None,
) -> Response:
    """The CAP 1.2 index: each outage's latest alert."""
    return _feed(request, "cap", site, utility, area, lang)


@router.head("/cap/{name}", response_class=Response, include_in_schema=False)
@router.get("/cap/{name}", response_class=Response)
def cap_alert(request: Request, name: str, site: PublishedDep) -> Response:
    """One CAP 1.2 alert: ``/cap/{outage id}-{revision}.xml``."""
    match = ALERT_NAME.fullmatch(name)
    if match is None:
        return PlainTextResponse("Not found: CAP alerts are /cap/{id}-{revision}.xml\n", 404)
    outage_id, revision = int(match[1]), int(match[2])
    view = site.view()

    def build() -> tuple[bytes, datetime | None]:
        with site.database.read() as session:
            outage = read_outage(session, site.settings, outage_id, revision=revision)
        try:
            return site.publisher.cap_alert(outage, view.now), next_change([outage], view.now)
        except Exception as exc:  # this alert only: every other one is still served
            unpublishable(outage_id, exc)
            raise NotFoundError(f"outage {outage_id} cannot be published") from None

    try:
        rendered = site.rendered(view, ("alert", outage_id, revision), CAP_TYPE, build)
    except NotFoundError as error:
        return PlainTextResponse(f"Not found: {error}\n", status_code=404)
    return conditional_response(request, rendered)
