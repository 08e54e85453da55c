"""``outage-notify demo``: the whole flow on the bundled demo city, with no credentials."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    city (shipped in the package), plans its outages relative to now, then drives the real
    dispatcher with a simulated clock through every due time (advance notices, reminders, a
    reschedule, an extension, a cancellation, a restoration, calls to landlines and the
    critical-needs ladder). SMS go to DIR/outbox/sms.jsonl, emails to DIR/outbox/email/*.eml,
    calls to DIR/outbox/voice/, the feeds and banner to DIR/public. --serve serves the web
    app as of the demo's simulated end, so its pages tell the same story.

    Example:

        outage-notify demo --dir demo-run --serve
    """
    # Imported on use: the demo drives every wing, which `demo --help` does not need.
    from rich.console import Console

    from outage_notify.cli.web import check_port_free
    from outage_notify.demo import demo_settings, missing_files, run_demo

    if serve:  # before the demo, not after it
        check_port_free(demo_settings(directory).web.host, port, remedy="choose another --port")
    missing = missing_files()
    if missing:
        raise OutageNotifyError(
            f"the demo city's {', '.join(missing)} is missing from the installed package "
            "(outage_notify/demo_data/): reinstall outage-notify"
        )
    console = Console(highlight=False)
    with console.status("Running the demo..."):
        result = run_demo(directory, say=console.print, port=port)
    _show(console, result)
    if serve:
        _serve(result)


def _show(console: Console, result: DemoResult) -> None:
    from rich.table import Table

    from outage_notify.models import EscalationStep

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
    ladder = Table(title="Critical-needs ladder, by step")
    ladder.add_column("step")
    ladder.add_column("ladders", justify="right")  # one per critical customer and outage
    for step in EscalationStep:  # in the order a ladder climbs them
        if result.ladder.get(step.value):
            ladder.add_row(step.value, f"{result.ladder[step.value]:,}")
    console.print(ladder)
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
    console.print(f"Voice outbox: {directory / 'outbox' / 'voice'}/ (each call's TwiML)")
    console.print(f"Feeds, CAP alerts and banner: {directory / 'public'}/ ({len(exported)} files)")
    console.print(f"Database:     {directory / 'outage-notify.db'}")


def served_app(result: DemoResult) -> Any:
    """The web app over the demo's database, its clock stopped at the simulated end."""
    from outage_notify.db import Database
    from outage_notify.demo import served_clock
    from outage_notify.web.app import create_app

    settings = result.settings
    return create_app(settings, Database(settings.database_url), clock=served_clock(result))


def _serve(result: DemoResult) -> None:
    import uvicorn

    from outage_notify.demo import served_clock

    settings = result.settings
    end = served_clock(result)().astimezone(settings.zone)
    click.echo(
        f"Serving {settings.public_url}/ as of the demo's end, {end:%a %d %b %H:%M} "
        "(Ctrl-C to stop)"
    )
    uvicorn.run(
        served_app(result), host=settings.web.host, port=settings.web.port, log_level="warning"
    )
