"""``outage-notify serve``: the web app alone (pages, feeds, banner), with uvicorn."""

from __future__ import annotations

import logging

import click

from outage_notify import migrations
from outage_notify.cli.base import AppContext, pass_app
from outage_notify.errors import SettingsError
from outage_notify.logs import setup_logging
from outage_notify.web.public_url import warn_if_insecure


def check_can_serve(app: AppContext) -> None:
    """Refuse to start rather than serve unsigned links or a missing schema."""
    settings = app.settings
    if not settings.web.secret_key.get_secret_value():
        raise SettingsError(
            "config key web.secret_key is empty: set it (or OUTAGE_NOTIFY_WEB__SECRET_KEY_FILE) "
            "to a long random string before serving; it signs unsubscribe and confirmation links"
        )
    current, head = migrations.current_revision(app.database), migrations.head_revision()
    if current != head:
        state = "has no schema" if current is None else f"is at schema revision {current}"
        raise SettingsError(
            f"the database {state}, the code needs {head}: run `outage-notify init` first"
        )


@click.command()
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port).")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@pass_app
def serve(app: AppContext, host: str | None, port: int | None, log_level: str) -> None:
    """Serve the public web app: pages, feeds, CAP alerts and the banner.

    Listens on web.host:web.port. Links in pages and feeds use public_url, so behind a
    reverse proxy set public_url to the address users see, and web.trusted_proxies to the
    proxy's address (only then is its X-Forwarded-For believed). Refuses to start while
    web.secret_key is empty or the database needs `outage-notify init`.

    Example:

        outage-notify serve --port 8080
    """
    import uvicorn

    from outage_notify.web.app import create_app

    check_can_serve(app)
    settings = app.settings
    bind_host, bind_port = host or settings.web.host, port or settings.web.port
    click.echo(
        f"Serving {settings.public_url} on http://{bind_host}:{bind_port} (Ctrl+C to stop).",
        err=True,
    )
    # Our handler for uvicorn's loggers too: its tracebacks go through the formatter that
    # leaves out what a database error may quote about a resident.
    setup_logging(json_lines=False, level=getattr(logging, log_level.upper()))
    warn_if_insecure(settings.public_url)
    uvicorn.run(
        create_app(settings, app.database),
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        log_config=None,
        # X-Forwarded-* are believed only from web.trusted_proxies, by the app itself.
        proxy_headers=False,
        server_header=False,
    )
