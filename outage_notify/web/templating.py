"""Jinja2 for the public pages: ``web/templates/``, autoescaped everywhere.

``base.html`` is the layout every page extends. A page gets ``t()`` (the words in its
language), ``url()`` (a path under the public URL's own path, so a site behind a reverse
proxy at ``https://city.example/outages`` links right) and the formatting helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from outage_notify.notices.texts import format_datetime, format_range, join_names
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.web.messages import translate

PAGE_HEADERS = {
    # Pages run only our own script files ("use my location"), never an inline one: a slip
    # in escaping still cannot run anything.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Vary": "Accept-Language",
}

ENVIRONMENT = Environment(
    loader=PackageLoader("outage_notify", "web/templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1%}"


ENVIRONMENT.filters["number"] = _number
ENVIRONMENT.filters["percent"] = _percent
ENVIRONMENT.globals["format_datetime"] = format_datetime
ENVIRONMENT.globals["format_range"] = format_range
ENVIRONMENT.globals["join_names"] = join_names


def url_prefix(settings: Settings) -> str:
    return urlsplit(settings.public_url).path.rstrip("/")


def language_links(
    path: str, query: Mapping[str, str] | list[tuple[str, str]], prefix: str
) -> list[tuple[str, str, str]]:
    """(code, name, href) for the language switch, keeping the page's other parameters."""
    pairs = [(k, v) for k, v in (query.items() if isinstance(query, Mapping) else query)]
    links = []
    for code in SHIPPED_LANGUAGES:
        kept = [(k, v) for k, v in pairs if k != "lang"] + [("lang", code)]
        links.append((code, translate(code, "language_name"), f"{prefix}{path}?{urlencode(kept)}"))
    return links


def render_html(
    name: str, *, language: str, settings: Settings, static: bool = False, **context: Any
) -> str:
    """Render a page. ``static`` pages (the export) carry no language switch."""
    prefix = url_prefix(settings)
    values = {
        "language": language,
        "settings": settings,
        "hotline": settings.hotline,
        "static": static,
        "languages": context.pop("languages", []),
        "t": lambda key, **kw: translate(language, key, **kw),
        "url": lambda path: f"{prefix}{path}",
        **context,
    }
    return ENVIRONMENT.get_template(name).render(values)


def render_page(
    request: Request,
    name: str,
    *,
    language: str,
    settings: Settings,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    links = language_links(
        request.url.path, list(request.query_params.multi_items()), url_prefix(settings)
    )
    html = render_html(name, language=language, settings=settings, languages=links, **context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
