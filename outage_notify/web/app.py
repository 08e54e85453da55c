"""The application factory. Each area of the site is a router in its own module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from outage_notify import __version__
from outage_notify.db import Database, utcnow
from outage_notify.settings import Settings
from outage_notify.web import (
    affected,
    api,
    api_errors,
    banner,
    feeds,
    health,
    nowater,
    open311,
    pages,
    reports,
    subscribe,
    twilio,
    unsubscribe,
)
from outage_notify.web.published import Published
from outage_notify.web.throttle import form_throttle

Clock = Callable[[], datetime]
API_DESCRIPTION = """Planned water and gas shutoffs: the REST API for work-management systems.

Every `/api` request needs `Authorization: Bearer <web.api_token>`; changes also need an
`X-Actor` header naming who makes them (recorded in the audit log as `api:<X-Actor>`).
Times are ISO 8601; without an offset they are read in the configured timezone. Errors are
`application/problem+json` with the fields at fault. See docs/api.md.
"""


def create_app(settings: Settings, database: Database, *, clock: Clock = utcnow) -> FastAPI:
    """Build the app. ``clock`` is injected so tests can fix "now".

    Refuses to build without ``web.secret_key``: unsubscribe links could not be checked.
    """
    settings.web.require_secret("the web app needs it to check the signed unsubscribe links")
    # /docs and /redoc with Swagger UI and ReDoc served from the package, not from a CDN
    # (a utility's network may reach no CDN).
    app: FastAPI = FastAPIOffline(
        title="outage-notify",
        version=__version__,
        description=API_DESCRIPTION,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.published = Published(settings, database, clock)
    app.state.form_throttle = form_throttle(settings)
    api_errors.install(app, _auth_failure)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(unsubscribe.router)
    app.include_router(subscribe.router)
    app.include_router(affected.router)
    app.include_router(nowater.router)
    app.include_router(open311.router)
    app.include_router(twilio.router)
    app.include_router(reports.router)
    app.include_router(feeds.router)
    app.include_router(banner.router)
    app.include_router(pages.router)
    app.mount(
        "/static",
        StaticFiles(packages=[("outage_notify", "web/static")]),
        name="static",
    )
    if settings.web.trusted_proxies:
        # Only then is X-Forwarded-For believed, and only from these peers: the address
        # the form limits count by must not be one the client wrote itself.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.web.trusted_proxies)
    return app


def _auth_failure(request: Request) -> api_errors.ApiError | None:
    return api.auth_failure(request.app.state.settings, request.headers.get("authorization"))
