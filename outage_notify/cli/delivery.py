"""``outage-notify dispatch`` and ``outage-notify run``: sending notices.

The delivery wing (the engine, the daemon, the channels behind them) is imported by each
command as it runs: ``--help`` loads none of it.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import click

from outage_notify.cli.base import AppContext, echo_json, pass_app, stderr_is_terminal
from outage_notify.cli.times import rehearsal_now
from outage_notify.cli.web import check_port_free
from outage_notify.logs import setup_logging
from outage_notify.times import format_local
from outage_notify.web.public_url import warn_if_insecure

if TYPE_CHECKING:
    from rich.progress import Progress


@click.command()
@click.option("--once", is_flag=True, help="Send what is due, then exit (required).")
@click.option(
    "--now",
    "now_text",
    metavar="T",
    help="With --dry-run: as if it were T (ISO 8601; without an offset, in the configured "
    "timezone). Default: the clock.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what the pass would send; write and send nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def dispatch(
    app: AppContext, once: bool, now_text: str | None, dry_run: bool, as_json: bool
) -> None:
    """Expand the notices due now and send every delivery that can go, then exit.

    Deliveries left `sending` by a crashed process are reconciled first. Retries that are not
    due yet wait for the next run (or for the daemon, `outage-notify run`). `--dry-run
    --now T` rehearses a pass at T: which notices would fall due and to how many on each
    channel; nothing is written or sent (a real pass always acts at the current time).

    Example:

        outage-notify dispatch --once --dry-run --now 2026-12-01T08:00 --json
    """
    if not once:
        raise click.UsageError("dispatch runs one pass: add --once (the daemon is `run`)")
    from outage_notify.delivery.engine import build_engine, enabled_channels
    from outage_notify.delivery.outbox import pending_count
    from outage_notify.delivery.rehearsal import rehearse

    settings, database = app.settings, app.database
    at = rehearsal_now(app, now_text, dry_run=dry_run)
    if dry_run:
        _echo_rehearsal(rehearse(database, at, enabled=enabled_channels(settings)), app, as_json)
        return
    setup_logging(json_lines=False, level=logging.WARNING)
    engine = build_engine(database, settings, clock=app.clock)
    dispatcher = engine.dispatcher
    recovered = engine.reconcile(at)
    ladder = engine.escalate(at)
    show_progress = stderr_is_terminal() and not as_json
    with _progress(show_progress) as progress:
        if progress is not None:
            task = progress.add_task("sending", total=None)
            dispatcher.on_result = lambda _channel, _outcome: progress.advance(task)
        summary = dispatcher.run_once()
    engine.close()
    result = {
        "now": at,
        **summary.as_dict(),
        "recovered": recovered.as_dict(),
        "critical": ladder.as_dict() if ladder is not None else {},
        "pending": pending_count(database),
    }
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"Expanded {summary.expansion.notices} notice(s) into "
        f"{summary.expansion.deliveries} deliveries ({summary.expansion.skipped} skipped)."
    )
    for key, count in sorted(summary.results.items()):
        click.echo(f"  {key}: {count}")
    if summary.expired or summary.expansion.expired_notices:
        click.echo(
            f"Expired unsent: {summary.expansion.expired_notices} notice(s), "
            f"{summary.expired} deliveries (the work had started)."
        )
    if ladder:
        click.echo(f"Critical-needs ladder: {ladder.as_dict()}")
    if any(recovered.as_dict().values()):
        click.echo(f"Recovered after a crash: {recovered.as_dict()}")
    click.echo(f"Still pending (retries and later times): {result['pending']}")


def _echo_rehearsal(data: dict[str, Any], app: AppContext, as_json: bool) -> None:
    if as_json:
        echo_json(data)
        return
    zone = app.settings.zone
    click.echo(f"Dry run at {format_local(data['now'], zone)}, nothing written or sent:")
    if not data["notices"]:
        click.echo("  no notice falls due.")
    for notice in data["notices"]:
        head = (
            f"  notice {notice['id']} ({notice['kind']}, outage #{notice['outage_id']}, "
            f"due {format_local(notice['due_at'], zone)}{', late' if notice['late'] else ''})"
        )
        if notice["fate"] != "expanded":
            click.echo(f"{head}: {notice['fate']}, would not be sent")
            continue
        reach = ", ".join(f"{c} {n}" for c, n in notice["recipients"].items()) or "nobody"
        click.echo(f"{head}: {reach} ({notice['skipped']} skipped)")
    queued = ", ".join(f"{c} {n}" for c, n in data["queued"].items()) or "none"
    click.echo(f"  queued deliveries that would go: {queued}; would expire: {data['would_expire']}")


def _progress(enabled: bool) -> Progress | nullcontext[None]:
    if not enabled:
        return nullcontext()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


@click.command()
@click.option("--no-web", is_flag=True, help="Do not serve the web app from this process.")
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Log lines as JSON objects or as text.",
)
@pass_app
def run(app: AppContext, no_web: bool, log_format: str) -> None:
    """Run the daemon: the scheduler, the dispatcher and the web app, until SIGTERM.

    On SQLite only one `run` may use a database (a second is refused). On PostgreSQL any
    number may run: one is elected scheduler, every one sends. SIGTERM or Ctrl-C stops
    claiming, lets in-flight sends finish and exits within 10 seconds.

    Example:

        outage-notify run --config /etc/outage-notify/outage-notify.toml
    """
    from outage_notify.delivery.daemon import Daemon

    settings, database = app.settings, app.database
    if not no_web:
        check_port_free(settings.web.host, settings.web.port)
    setup_logging(json_lines=log_format == "json")
    warn_if_insecure(settings.public_url)
    daemon = Daemon(settings, database)
    web_app = None
    if not no_web:
        from outage_notify.web.app import create_app

        web_app = create_app(settings, database)
    daemon.run_forever(web_app, host=settings.web.host, port=settings.web.port)
