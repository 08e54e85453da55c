"""``outage-notify serve``: the web app alone (pages, feeds, banner), with uvicorn."""

from __future__ import annotations

import errno
import logging
import socket

import click

from outage_notify.cli.base import AppContext, pass_app
from outage_notify.errors import OutageNotifyError
from outage_notify.logs import setup_logging
from outage_notify.web.public_url import warn_if_insecure


def check_can_serve(app: AppContext) -> None:
    """Refuse to start rather than serve unsigned links or a missing schema."""
    settings = app.settings
    settings.web.require_secret(
        "a long random string is needed before serving: it signs unsubscribe and confirmation links"
    )
    app.database  # noqa: B018  (refused in one line until `outage-notify init` made it current)


def check_port_free(
    host: str, port: int, *, remedy: str = "set web.port (serve also takes --port)"
) -> None:
    """One line, before uvicorn starts, when the address is taken (uvicorn would log a
    traceback-like error and exit 3). A race with another process remains, but the usual
    case, a second server started by mistake, is caught."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port in TIME_WAIT is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"({exc.strerror})"
            raise OutageNotifyError(
                f"cannot listen on {host}:{port}: the address {reason}; stop the other server "
                f"or {remedy}"
            ) from None


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
    check_port_free(bind_host, bind_port)
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
