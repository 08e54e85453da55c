"""The website banner: ``/banner.json``, ``/banner.js`` (the embed script) and ``/banner``
(the same as a small HTML page, for an iframe). Open to every origin (CORS ``*``): the
banner is meant to be embedded on other sites, and carries nothing private.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from channels.banner import BANNER_JS, banner_document
from outage_notify.errors import InputError
from outage_notify.publishing.documents import JS_TYPE, JSON_TYPE
from outage_notify.publishing.publication import parse_filter
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.language import page_language
from outage_notify.web.published import Published, Rendered, conditional_response, published
from outage_notify.web.templating import render_page

router = APIRouter(tags=["banner"])

CORS = {"Access-Control-Allow-Origin": "*"}
# The script reads the server's Date to decide what is due: a wrong PC clock must not hide it.
CORS_DATA = {**CORS, "Access-Control-Expose-Headers": "Date"}
SCRIPT = Rendered(
    body=BANNER_JS,
    media_type=JS_TYPE,
    etag='"' + hashlib.sha256(BANNER_JS).hexdigest()[:32] + '"',
    last_modified=datetime.now(UTC).replace(microsecond=0),
)
# Host sites may frame this page; it runs no script.
FRAMEABLE = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'",
}

SettingsDep = Annotated[Settings, Depends(deps.settings)]
PublishedDep = Annotated[Published, Depends(published)]
Area = Annotated[str | None, Query(description="a service area code; all areas when absent")]


@router.head("/banner.json", response_class=Response, include_in_schema=False)
@router.get("/banner.json", response_class=Response)
def banner_json(request: Request, site: PublishedDep, area: Area = None) -> Response:
    """What a site banner should show now: active outages and those starting within 72 h."""
    view = site.view()
    area = (area or "").strip() or None
    try:
        parse_filter([], [area] if area else [], view.snapshot.areas)
    except InputError as error:
        return JSONResponse({"error": str(error)}, status_code=400, headers=CORS)

    def build() -> tuple[bytes, datetime | None]:
        body = site.publisher.banner(view.snapshot, area, view.now)
        return body, view.snapshot.valid_until

    rendered = site.rendered(view, ("banner", area), JSON_TYPE, build)
    return conditional_response(request, rendered, headers=CORS_DATA)


@router.head("/banner.js", response_class=Response, include_in_schema=False)
@router.get("/banner.js", response_class=Response)
def banner_js(request: Request) -> Response:
    """The embeddable banner: ``<script src=".../banner.js" data-area="CODE" async>``."""
    return conditional_response(request, SCRIPT, headers=CORS, max_age=300)


@router.get("/banner", include_in_schema=False)
def banner_page(
    request: Request, settings: SettingsDep, site: PublishedDep, area: Area = None
) -> Response:
    """The banner as an HTML page, for an iframe."""
    language = page_language(request, settings)
    view = site.view()
    area = (area or "").strip() or None
    try:
        parse_filter([], [area] if area else [], view.snapshot.areas)
    except InputError as error:
        return Response(f"Bad request: {error}\n", status_code=400, media_type="text/plain")
    document = banner_document(
        view.snapshot.outages,
        now=view.now,
        area=area,
        hotline=settings.hotline,
        default_language=settings.default_language,
    )
    return render_page(
        request,
        "banner.html",
        language=language,
        settings=settings,
        headers={**FRAMEABLE, "Cache-Control": "public, max-age=60"},
        items=document["outages"],
    )
