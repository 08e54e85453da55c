"""``outage-notify sources add|list|poll|remove``: upstream feeds of planned work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from outage_notify.cli.base import AppContext, AppGroup, actor_option, echo_json, pass_app
from outage_notify.cli.times import now_option, rehearsal_now
from outage_notify.errors import OutageNotifyError
from outage_notify.planning.sources import FORMATS

if TYPE_CHECKING:
    from outage_notify.models import Source
    from outage_notify.planning.sources.poll import PollResult

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group("sources", cls=AppGroup)
def sources_group() -> None:
    """Upstream feeds of planned work (RSS, Atom or CAP) that become outages.

    Example:

    \b
        outage-notify sources add citygis https://gis.example.org/planned.rss \\
            --format rss --utility water --every 5m
    """


@sources_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="The feed's kind.")
@click.option("--utility", type=click.Choice(["water", "gas"]), help="For entries that name none.")
@click.option("--area", "areas", metavar="CODE", multiple=True, help="For entries without a place.")
@click.option("--trusted", is_flag=True, help="Its outages go live at once (else: review).")
@click.option("--every", default="5m", show_default=True, help="How often to poll it.")
@actor_option()
@pass_app
def add_cmd(
    app: AppContext,
    name: str,
    url: str,
    fmt: str,
    utility: str | None,
    areas: tuple[str, ...],
    trusted: bool,
    every: str,
    actor: str,
) -> None:
    """Register a feed; the daemon polls it every --every (`sources poll` polls it now).

    Outages from a source that is not --trusted wait in review: no notice goes out until a
    planner runs `outages approve ID`.

    Example:

    \b
        outage-notify sources add gasco https://gasco.example.com/cap/latest.xml \\
            --format cap --utility gas --trusted --every 10m
    """
    from outage_notify.planning.sources import records

    with app.database.session() as session:
        source = records.add_source(
            session,
            name=name,
            url=url,
            fmt=fmt,
            utility=utility,
            areas=areas,
            trusted=trusted,
            every=every,
            actor=actor,
        )
    click.echo(f"Added source {source.name} ({_kind(source)}), polled every {every}.")


def _kind(source: Source) -> str:
    trust = "trusted" if source.trusted else "untrusted: outages wait for review"
    return f"{source.format}, {source.utility or 'utility from entries'}, {trust}"


@sources_group.command("list")
@JSON_OPTION
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """Show each source: its last poll and status, entries seen, held and vanished entries,
    and the last error. Listed below a source: entries held for review or with a change
    not applied, and vanished entries whose outage is still planned (--json lists all).

    Example:

        outage-notify sources list --json
    """
    from outage_notify.planning.sources import records

    with app.database.read() as session:
        rows = records.describe_sources(session, app.settings.zone)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No sources.")
    for row in rows:
        last = (row["last_poll_at"] or "never")[:16].replace("T", " ")
        click.echo(
            f"{row['name']}  {row['format']}  {row['url']}  every {row['every_seconds']}s  "
            f"last poll {last}: {row['last_status']}  entries {row['entries_seen']}  "
            f"held {row['held']}  vanished {row['vanished']}"
        )
        if row["last_error"]:
            click.echo(f"  error: {row['last_error']}")
        for entry in row["entries"]:
            if _worth_showing(entry):
                _echo_entry(entry)


def _worth_showing(entry: dict[str, Any]) -> bool:
    """Held entries, notes on entries still in the feed, and vanished entries whose outage is
    still ahead (finished work leaves feeds all the time: those stay in --json only)."""
    if entry["vanished_at"] is None:
        return bool(entry["reason"])
    return entry["outage_status"] in ("planned", "review")


def _echo_entry(entry: dict[str, Any]) -> None:
    outage = f" outage #{entry['outage_id']}" if entry["outage_id"] else ""
    gone = (
        f" vanished {entry['vanished_at'][:16].replace('T', ' ')}" if entry["vanished_at"] else ""
    )
    click.echo(f"  {entry['key']}: {entry['state']}{outage}{gone}")
    if entry["reason"]:
        click.echo(f"    {entry['reason']}")


@sources_group.command("poll")
@click.argument("name", required=False)
@now_option()
@click.option("--dry-run", is_flag=True, help="Fetch and show what would change; write nothing.")
@JSON_OPTION
@pass_app
def poll_cmd(
    app: AppContext, name: str | None, now_text: str | None, dry_run: bool, as_json: bool
) -> None:
    """Poll one source (or every source) now, once. Exit 1 when a poll failed.

    `--dry-run` fetches and applies the feed as a poll would, then rolls it all back: it shows
    what would be created, changed or cancelled, and writes nothing (not even the source's
    last poll). `--now T` rehearses a poll at T, and only with `--dry-run`.

    Example:

        outage-notify sources poll citygis --dry-run
    """
    # Imported on use: polling pulls the feed parsers (feedparser, lxml) and the planning wing.
    from outage_notify.planning.sources import records
    from outage_notify.planning.sources.poll import poll_source

    now = rehearsal_now(app, now_text, dry_run=dry_run)
    if name is None:
        with app.database.read() as session:
            names = [row["name"] for row in records.describe_sources(session, app.settings.zone)]
    else:
        names = [name]
    results = [poll_source(app.database, app.settings, n, now=now, dry_run=dry_run) for n in names]
    if as_json:
        echo_json([{**r.as_dict(), "dry_run": dry_run} for r in results])
    else:
        if dry_run:
            click.echo("Dry run, nothing written:")
        for result in results:
            _echo_poll(result)
    failed = [r for r in results if r.status == "error"]
    if failed:
        raise OutageNotifyError("; ".join(f"source {r.source} failed: {r.error}" for r in failed))


def _echo_poll(result: PollResult) -> None:
    if result.status != "ok":
        click.echo(f"{result.source}: {result.status.replace('_', ' ')}")
        return
    applied = result.applied
    click.echo(
        f"{result.source}: {result.entries} entries: created {len(applied.created)}, changed "
        f"{len(applied.changed)}, cancelled {len(applied.cancelled)}, held {len(applied.held)}, "
        f"unchanged {applied.unchanged}, vanished {len(applied.vanished)}"
    )
    for note in applied.notes:
        click.echo(f"  {note}")


@sources_group.command("remove")
@click.argument("name")
@actor_option()
@pass_app
def remove_cmd(app: AppContext, name: str, actor: str) -> None:
    """Stop polling a source. Its outages stay as they are.

    Example:

        outage-notify sources remove citygis
    """
    from outage_notify.planning.sources import records

    with app.database.session() as session:
        records.remove_source(session, name, actor=actor)
    click.echo(f"Removed source {name}; its outages are unchanged.")
