"""``outage-notify demo``: the whole flow on the bundled demo city, with no credentials."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from outage_notify.errors import OutageNotifyError

if TYPE_CHECKING:
    from rich.console import Console

    from outage_notify.demo import DemoResult


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-run"),
    show_default=True,
    help="Where the demo database, outbox and exported feeds go (recreated).",
)
@click.option("--serve", is_flag=True, help="Then serve the web app until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port for --serve (and the links in the notices).",
)
def demo(directory: Path, serve: bool, port: int) -> None:
    """Run the whole flow on a bundled demo city with SQLite and the file backends.

    Needs no credentials and no services, and ignores any config file. It imports the demo
    city (config/demo/), plans its outages relative to now, then drives the real dispatcher
    with a simulated clock through every due time (advance notices, reminders, a reschedule,
    an extension, a cancellation, a restoration). SMS go to DIR/outbox/sms.jsonl, emails to
    DIR/outbox/email/*.eml, the feeds and banner to DIR/public.

    Example:

        outage-notify demo --dir demo-run --serve
    """
    # Imported on use: the demo drives every wing, which `demo --help` does not need.
    from rich.console import Console

    from outage_notify.demo import DEMO_DATA, run_demo

    if not (DEMO_DATA / "areas.geojson").is_file():
        raise OutageNotifyError(f"the demo city is not at {DEMO_DATA} (run from a checkout)")
    console = Console(highlight=False)
    with console.status("Running the demo..."):
        result = run_demo(directory, say=console.print, port=port)
    _show(console, result)
    if serve:
        _serve(result)


def _show(console: Console, result: DemoResult) -> None:
    from rich.table import Table

    table = Table(title="Notices sent, by kind, channel and language")
    for name in ("kind", "channel", "language", "messages"):
        table.add_column(name, justify="right" if name == "messages" else "left")
    for (kind, channel, language), count in sorted(result.sent.items()):
        table.add_row(kind, channel, language, f"{count:,}")
    table.add_row("all", "", "", f"{sum(result.sent.values()):,}", style="bold")
    console.print(table)
    other = Table(title="Not sent, and why")
    other.add_column("state")
    other.add_column("reason")
    other.add_column("deliveries", justify="right")
    for (state, reason), count in sorted(result.not_sent.items()):
        other.add_row(state, reason, f"{count:,}")
    console.print(other)
    directory = result.directory
    exported = result.export.files if result.export else []
    console.print(
        f"\nSimulated {result.steps} due times up to "
        f"{result.simulated_until.astimezone(result.settings.zone):%a %d %b %H:%M}."
        if result.simulated_until
        else ""
    )
    console.print(f"SMS outbox:   {directory / 'outbox' / 'sms.jsonl'}")
    console.print(f"Email outbox: {directory / 'outbox' / 'email'}/ (one .eml per message)")
    console.print(f"Feeds, CAP alerts and banner: {directory / 'public'}/ ({len(exported)} files)")
    console.print(f"Database:     {directory / 'outage-notify.db'}")


def _serve(result: DemoResult) -> None:
    import uvicorn

    from outage_notify.db import Database
    from outage_notify.web.app import create_app

    settings = result.settings
    app = create_app(settings, Database(settings.database_url))
    click.echo(f"Serving {settings.public_url}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, log_level="warning")
