"""``outage-notify feeds export DIR``: the feeds, CAP alerts and banner as static files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from outage_notify.cli.base import AppContext, AppGroup, echo_json, pass_app, stderr_is_terminal


def parse_time(value: str, zone: object) -> datetime:
    """ISO 8601; without an offset, the time is read in the configured time zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2026-12-01T08:00 or 2026-12-01T08:00+08:00"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)  # type: ignore[arg-type]


@click.group(cls=AppGroup)
def feeds() -> None:
    """The public feeds (RSS, Atom, iCalendar, CAP) and the website banner."""


@feeds.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--now",
    "now_text",
    metavar="T",
    help="Publish as of this time (ISO 8601; default: now). Local time without an offset.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_app
def export(app: AppContext, directory: Path, now_text: str | None, as_json: bool) -> None:
    """Write the feeds, CAP alerts, banner and pages to DIRECTORY as static files.

    The layout follows the live URLs (feeds/outages.rss, feeds/cap.atom, cap/ID-REV.xml,
    banner.json, banner/AREA.json, banner.js, index.html, outages/ID/index.html), so any
    static server or CDN at public_url can serve it. Files are replaced atomically; run it
    again after every change (or from cron).

    Example:

        outage-notify feeds export /var/www/outages
    """
    # Imported on use: the export pulls the publishing wing (feeds, CAP, pages) and rich.
    from rich.console import Console
    from rich.progress import Progress

    from outage_notify.db import utcnow
    from outage_notify.publishing.export import export_site

    settings = app.settings
    now = parse_time(now_text, settings.zone) if now_text is not None else utcnow()
    if stderr_is_terminal() and not as_json:
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("Writing files", total=None)
            result = export_site(
                settings,
                app.database,
                directory,
                now=now,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    else:
        result = export_site(settings, app.database, directory, now=now)
    if as_json:
        echo_json(
            {
                "directory": str(result.directory),
                "files": result.files,
                "outages": result.outages,
                "alerts": result.alerts,
                "areas": result.areas,
            }
        )
        return
    click.echo(
        f"Wrote {len(result.files)} files to {result.directory}: {result.outages} outages, "
        f"{result.alerts} CAP alerts, banners for {result.areas} areas."
    )
