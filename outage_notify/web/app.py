"""The application factory. Each area of the site is a router in its own module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from outage_notify import __version__
from outage_notify.db import Database, utcnow
from outage_notify.settings import Settings
from outage_notify.web import banner, feeds, health, pages
from outage_notify.web.published import Published

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
    app.state.published = Published(settings, database, clock)
    app.include_router(health.router)
    app.include_router(feeds.router)
    app.include_router(banner.router)
    app.include_router(pages.router)
    app.mount(
        "/static",
        StaticFiles(packages=[("outage_notify", "web/static")]),
        name="static",
    )
    return app
