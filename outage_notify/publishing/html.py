"""Jinja2 for the public pages: ``web/templates/``, autoescaped everywhere.

``base.html`` is the layout every page extends. A page gets ``t()`` (the words in its
language), ``url()`` (a path under the public URL's own path, so a site behind a reverse
proxy at ``https://city.example/outages`` links right) and the formatting helpers. The web
app serves the pages (``web/templating.render_page``); the export writes them as files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined

from outage_notify.notices.page_words import translate
from outage_notify.notices.texts import format_datetime, format_range, join_names
from outage_notify.settings import SHIPPED_LANGUAGES, Settings

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
