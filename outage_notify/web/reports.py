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

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.notices.page_words import MESSAGES, translate
from outage_notify.reports.annual import (
    MAX_YEAR,
    MIN_YEAR,
    AnnualReport,
    annual_report,
    check_year,
    report_years,
)
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.language import page_language
from outage_notify.web.templating import render_page

router = APIRouter(tags=["reports"], include_in_schema=False)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]

CACHE_FOR = timedelta(minutes=10)


def report_word(language: str, key: str) -> str:
    """The word for ``key``; a value the words do not know yet (a new opt-out source, say)
    shows as itself rather than failing the page."""
    if key in MESSAGES.get(language, MESSAGES["en"]):
        return translate(language, key)
    return key.split("_", 2)[-1]


def _render(
    request: Request, template: str, status: int, settings: Settings, **context: Any
) -> HTMLResponse:
    language = page_language(request, settings)
    headers = {"Cache-Control": "public, max-age=300"} if status == 200 else {}
    return render_page(
        request,
        template,
        language=language,
        settings=settings,
        status_code=status,
        headers=headers,
        word=lambda key: report_word(language, key),
        **context,
    )


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
    with database.read() as session:
        years = report_years(session, settings.zone)
    return _render(request, "reports.html", 200, settings, years=years, message=None)


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

    def compute() -> AnnualReport:
        with database.read() as session:
            return annual_report(session, number, settings=settings, now=now)

    with database.read() as session:
        years = report_years(session, settings.zone)
    try:
        number = check_year(year)
        report = cache.get(number, now, compute)
    except InputError:
        message = translate(language, "report_bad_year", year=year, first=MIN_YEAR, last=MAX_YEAR)
        return _render(request, "reports.html", 400, settings, years=years, message=message)
    except NotFoundError:
        message = translate(language, "report_no_year", year=year)
        return _render(request, "reports.html", 404, settings, years=years, message=message)
    generated = report.generated_at.astimezone(settings.zone)
    return _render(
        request,
        "report_year.html",
        200,
        settings,
        r=report.as_dict(),
        years=years,
        generated=f"{generated:%Y-%m-%d %H:%M}",
    )
