"""The public annual reports: ``GET /reports`` (the years) and ``GET /reports/{year}``.

Aggregates only, never personal data: the page renders ``AnnualReport.as_dict()``, which holds
counts, hours and rates and nothing that names a resident. zh-CN or en by ``?lang=``, else
Accept-Language, else ``default_language``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.reports_annual import (
    MAX_YEAR,
    MIN_YEAR,
    AnnualReport,
    annual_report,
    check_year,
    report_years,
)
from outage_notify.settings import SHIPPED_LANGUAGES, Settings
from outage_notify.web import deps
from outage_notify.web.report_words import REPORT_WORDS

router = APIRouter(tags=["reports"], include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]

CACHE_FOR = timedelta(minutes=10)
HEADERS = {
    # The page is static HTML with its own inline styles: nothing else may load or run.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Vary": "Accept-Language",
}

TEMPLATES = Environment(
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


TEMPLATES.filters["number"] = _number
TEMPLATES.filters["percent"] = _percent


def _shipped(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def page_language(request: Request, settings: Settings) -> str:
    explicit = _shipped(request.query_params.get("lang", ""))
    if explicit:
        return explicit
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, quality = part.partition(";")
        if quality.strip().replace(" ", "") in ("q=0", "q=0.0"):
            continue
        found = _shipped(tag)
        if found:
            return found
    return settings.default_language


def _words(language: str) -> Any:
    words = REPORT_WORDS[language]

    def t(key: str, **values: object) -> str:
        # A value the words do not know yet (a new opt-out source, say) shows as itself
        # rather than failing the page.
        text = words.get(key, key.split("_", 2)[-1])
        return text.format(**values) if values else text

    return t


def _render(
    template: str, status: int, language: str, settings: Settings, **context: Any
) -> HTMLResponse:
    # Links keep the public URL's own path, for a site served under a prefix.
    context["base"] = urlsplit(settings.public_url).path.rstrip("/")
    context.setdefault("languages", [(c, REPORT_WORDS[c]["report_language_name"])
                                     for c in SHIPPED_LANGUAGES])  # fmt: skip
    html = TEMPLATES.get_template(template).render(language=language, t=_words(language), **context)
    headers = dict(HEADERS)
    if status == 200:
        headers["Cache-Control"] = "public, max-age=300"
    return HTMLResponse(html, status_code=status, headers=headers)


class AnnualReportCache:
    """Annual reports by year, kept a few minutes: one costs a targeting pass per outage of
    the year (seconds for a large city), and the page is public."""

    def __init__(self, ttl: timedelta = CACHE_FOR) -> None:
        self.ttl = ttl
        self._entries: dict[int, AnnualReport] = {}
        # One computation at a time: a burst of requests waits for the first, not N passes.
        self._lock = threading.Lock()

    def get(self, year: int, now: datetime, compute: Callable[[], AnnualReport]) -> AnnualReport:
        with self._lock:
            cached = self._entries.get(year)
            if cached is not None and now - cached.generated_at < self.ttl:
                return cached
            report = compute()
            self._entries[year] = report
            return report


def report_cache(request: Request) -> AnnualReportCache:
    cache: AnnualReportCache | None = getattr(request.app.state, "annual_reports", None)
    if cache is None:
        cache = request.app.state.annual_reports = AnnualReportCache()
    return cache


CacheDep = Annotated[AnnualReportCache, Depends(report_cache)]


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request, settings: SettingsDep, database: DatabaseDep) -> HTMLResponse:
    language = page_language(request, settings)
    with database.read() as session:
        years = report_years(session, settings.zone)
    return _render(
        "reports.html", 200, language, settings, years=years, message=None, path="/reports"
    )


@router.get("/reports/{year}", response_class=HTMLResponse)
def report_page(
    year: str,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    cache: CacheDep,
) -> HTMLResponse:
    language = page_language(request, settings)
    t = _words(language)
    path = f"/reports/{quote(year, safe='')}"

    def compute() -> AnnualReport:
        with database.read() as session:
            return annual_report(session, number, settings=settings, now=now)

    with database.read() as session:
        years = report_years(session, settings.zone)
    try:
        number = check_year(year)
        report = cache.get(number, now, compute)
    except InputError:
        message = t("report_bad_year", year=year, first=MIN_YEAR, last=MAX_YEAR)
        return _render("reports.html", 400, language, settings, years=years, message=message,
                       path=path)  # fmt: skip
    except NotFoundError:
        message = t("report_no_year", year=year)
        return _render("reports.html", 404, language, settings, years=years, message=message,
                       path=path)  # fmt: skip
    generated = report.generated_at.astimezone(settings.zone)
    return _render(
        "report_year.html", 200, language, settings, r=report.as_dict(), years=years, path=path,
        generated=f"{generated:%Y-%m-%d %H:%M}",
    )  # fmt: skip
