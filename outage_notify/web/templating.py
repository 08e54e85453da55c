"""Serving the public pages: ``render_page`` renders with ``publishing/html.py`` and adds the
pages' headers (a script-free Content-Security-Policy and the like).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from outage_notify.publishing.html import language_links, render_html, url_prefix
from outage_notify.settings import Settings

__all__ = ["PAGE_HEADERS", "render_page", "url_prefix"]

PAGE_HEADERS = {
    # Pages run no script at all; this keeps any slip in escaping from running one.
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Vary": "Accept-Language",
}


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
