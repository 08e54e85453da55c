"""The application factory. Each area of the site is a router in its own module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from outage_notify import __version__
from outage_notify.db import Database, utcnow
from outage_notify.settings import Settings
from outage_notify.web import health, reports

Clock = Callable[[], datetime]


def create_app(settings: Settings, database: Database, *, clock: Clock = utcnow) -> FastAPI:
    """Build the app. ``clock`` is injected so tests can fix "now"."""
    app = FastAPI(
        title="outage-notify",
        version=__version__,
        description="Planned water and gas shutoffs: public pages, feeds and the REST API.",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.include_router(health.router)
    app.include_router(reports.router)
    return app
