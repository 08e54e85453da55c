"""``outage-notify outages``: plan, import, list, show and preview outages.

The lifecycle commands (reschedule, extend, cancel, restore) are in ``outage_lifecycle.py``.
The planning wing is imported by each command as it runs: ``outages list`` reads through
SQLAlchemy Core alone, and ``--help`` loads neither the models nor the planning code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from outage_notify.cli.base import AppContext, AppGroup, actor_option, echo_json, pass_app
from outage_notify.cli.times import now_of, now_option, rehearsal_now, to_utc
from outage_notify.states import OUTAGE_STATUSES, UTILITIES

if TYPE_CHECKING:
    from sqlmodel import Session

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group("outages", cls=AppGroup)
def outages_group() -> None:
    """Planned shutoffs: plan them, check who hears about them, change them.

    Example:

    \b
        outage-notify outages add --utility water --start 2026-12-01T08:00 \\
            --end 2026-12-01T12:00 --area W01 --title "Main replacement"
    """


def _preview(session: Session, outage: Any, **kwargs: Any) -> dict[str, Any]:
    # Imported on use: the preview pulls targeting (numpy, shapely) and the notice templates,
    # which `outages list` and `show` do not need.
    from outage_notify.planning.preview import preview

    return preview(session, outage, **kwargs)


def _pipes(session: Session, outage_id: int | None) -> list[str]:
    # Imported on use: the network's matching pulls numpy and shapely.
    from outage_notify.planning import network_match

    return network_match.outage_pipes(session, outage_id)


@contextmanager
def transaction(app: AppContext, *, dry_run: bool = False) -> Iterator[Session]:
    """A write transaction; with ``dry_run`` it runs the same checks and rolls back."""
    with app.database.session() as session:
        yield session
        if dry_run:
            session.rollback()


def short(iso: str | None) -> str:
    """``2026-12-01T08:00:00+08:00`` -> ``2026-12-01 08:00`` for tables."""
    return "-" if iso is None else iso[:16].replace("T", " ")


def outage_line(data: dict[str, Any]) -> str:
    number = f"#{data['id']}" if data["id"] is not None else "(new)"
    if data.get("ref"):
        number += f" {data['ref']}"
    where = ", ".join(data["areas"] + [f"pipe {p}" for p in data.get("pipes") or []])
    return (
        f"{number} {data['utility']} {where}  "
        f"{short(data['start'])} - {short(data['end'])}  {data['status']} "
        f"(revision {data['revision']})  {data['title']}"
    )


def notice_line(data: dict[str, Any]) -> str:
    notes = []
    if data["shifted_for_quiet_hours"]:
        notes.append("SMS moved for quiet hours")
    if data["urgent"]:
        notes.append("urgent: during quiet hours")
    tail = f"  ({'; '.join(notes)})" if notes else ""
    return (
        f"  r{data['revision']} {data['kind']:<9} to {data['audience']:<8} "
        f"due {short(data['due_at'])}  SMS {short(data['sms_due_at'])}  {data['state']}{tail}"
    )


def echo_preview(data: dict[str, Any]) -> None:
    recipients = data["recipients"]
    for channel, counts in recipients.items():
        languages = ", ".join(f"{k} {v}" for k, v in counts["by_language"].items())
        click.echo(
            f"Recipients by {channel}: {counts['total']}" + (f" ({languages})" if languages else "")
        )
    matched = ", ".join(f"{k} {v}" for k, v in data["by_match"].items()) or "nobody"
    click.echo(f"Matched: {matched}")
    network = data.get("network")
    if network:
        click.echo(
            f"Network: pipes {', '.join(network['pipes'])}, close {len(network['valves'])} "
            f"valve(s), {network['affected_nodes']} node(s) cut off, {network['customers']} "
            f"customer(s); the areas alone: {network['areas_alone']} (the network adds "
            f"{network['added_by_network']}, spares {network['spared_by_network']})"
        )
        for label, key in (("adds", "added_accounts"), ("spares", "spared_accounts")):
            if network[key]:
                click.echo(f"  the network {label}: {', '.join(network[key])}")
    for channel, reasons in data["skipped"].items():
        click.echo(f"Left out by {channel}: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    click.echo("Notices:")
    for notice in data["notices"]:
        click.echo(notice_line(notice))
    segments = ", ".join(f"{k} {v}" for k, v in data["sms_segments"].items())
    click.echo(
        f"SMS: {segments} segment(s); {data['sms_messages']} messages planned, cost up to "
        f"{data['sms_cost']:.2f}; one notice to everyone takes {data['sms_eta_seconds']:g} s"
    )
    for language, by_kind in data["texts"].items():
        for kind, text in by_kind.items():
            click.echo(f"[{language} {kind}, {text['segments']} segment(s)] {text['sms']}")
    for warning in data["warnings"]:
        click.echo(f"Warning: {warning}", err=True)


@outages_group.command("add")
@click.option("--utility", type=click.Choice(UTILITIES), required=True)
@click.option(
    "--start", "start_text", metavar="T", required=True, help="ISO 8601; local if no offset."
)
@click.option("--end", "end_text", metavar="T", required=True, help="ISO 8601; local if no offset.")
@click.option("--area", "areas", metavar="CODE", multiple=True, help="Repeatable.")
@click.option(
    "--pipe",
    "pipes",
    metavar="PIPE",
    multiple=True,
    help="Repeatable: target by isolating these pipes of the network (water).",
)
@click.option("--title", required=True, help="1-120 characters.")
@click.option("--description", default="", help="More detail, for email and the web page.")
@click.option("--ref", metavar="WORK_ORDER", help="The work order number (unique).")
@click.option("--short-notice", is_flag=True, help="Allow a start closer than schedule.min_notice.")
@click.option(
    "--long-shutoff",
    is_flag=True,
    help="Confirm a shutoff longer than schedule.plausible_length (else refused as a likely typo).",
)
@click.option("--dry-run", is_flag=True, help="Check and preview; write nothing.")
@JSON_OPTION
@now_option()
@actor_option()
@pass_app
def add_cmd(
    app: AppContext,
    utility: str,
    start_text: str,
    end_text: str,
    areas: tuple[str, ...],
    pipes: tuple[str, ...],
    title: str,
    description: str,
    ref: str | None,
    short_notice: bool,
    long_shutoff: bool,
    dry_run: bool,
    as_json: bool,
    now_text: str | None,
    actor: str,
) -> None:
    """Plan an outage; its notices are scheduled at once.

    Checks: start before end, start in the future and at least schedule.min_notice away
    (else --short-notice), every area exists and belongs to the utility, title 1-120
    characters. Every problem is listed and nothing is written.

    With --pipe (instead of or besides --area) the outage targets the customers that closing
    the valves around those pipes cuts off (see `outage-notify network isolate`).

    Example:

    \b
        outage-notify outages add --utility water --start 2026-12-01T08:00 \\
            --end 2026-12-01T12:00 --area W01 --area W02 --title "Main replacement" \\
            --ref WO-2291
        outage-notify outages add --utility water --pipe P-1024 --start 2026-12-01T08:00 \\
            --end 2026-12-01T12:00 --title "Valve replacement"
    """
    from outage_notify.planning import outages
    from outage_notify.planning.outage_views import describe_notice, describe_outage, notices

    settings, now = app.settings, rehearsal_now(app, now_text, dry_run=dry_run)
    draft = outages.OutageDraft(
        utility=utility,
        title=title,
        description=description,
        ref=ref,
        areas=areas,
        pipes=pipes,
        start=to_utc(app, start_text, "--start"),
        end=to_utc(app, end_text, "--end"),
    )
    with transaction(app, dry_run=dry_run) as session:
        outage = outages.plan_outage(
            session,
            draft,
            settings=settings,
            now=now,
            actor=actor,
            short_notice=short_notice,
            long_shutoff=long_shutoff,
        )
        data = describe_outage(outage, settings.zone)
        data["pipes"] = _pipes(session, outage.id)
        shown = _preview(session, outage, settings=settings, now=now) if dry_run else None
        planned = [describe_notice(n, settings.zone) for n in notices(session, outage.id or 0)]
    if dry_run:
        data["id"] = None  # nothing was written
    if as_json:
        echo_json({**data, "notices": planned, "dry_run": dry_run, "preview": shown})
        return
    click.echo(
        ("Dry run, nothing written: would plan " if dry_run else "Planned ") + outage_line(data)
    )
    if shown is not None:
        echo_preview(shown)
    else:
        click.echo("Notices:")
        for notice in planned:
            click.echo(notice_line(notice))


@outages_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
@click.option("--short-notice", is_flag=True, help="Allow starts closer than schedule.min_notice.")
@click.option(
    "--long-shutoff",
    is_flag=True,
    help="Confirm a shutoff longer than schedule.plausible_length (else refused as a likely typo).",
)
@JSON_OPTION
@now_option()
@actor_option()
@pass_app
def import_cmd(
    app: AppContext,
    file: Path,
    dry_run: bool,
    short_notice: bool,
    long_shutoff: bool,
    as_json: bool,
    now_text: str | None,
    actor: str,
) -> None:
    """Plan or update outages from a CSV file, idempotent by ref.

    Columns: ref,utility,title,description,start,end,areas (areas separated by ";").
    A new ref plans an outage; a row equal to its outage changes nothing; a changed row
    becomes an extension (only the end moved later) or a reschedule. One bad row rejects
    the whole file.

    Example:

        outage-notify outages import work-orders.csv --dry-run
    """
    from outage_notify.planning import outage_import

    settings, now = app.settings, rehearsal_now(app, now_text, dry_run=dry_run)
    with transaction(app, dry_run=dry_run) as session:
        actions = outage_import.import_outages(
            session,
            file,
            settings=settings,
            now=now,
            actor=actor,
            short_notice=short_notice,
            long_shutoff=long_shutoff,
        )
        rows = [a.describe() for a in actions]
    if dry_run:
        for row in rows:
            row["outage_id"] = row["outage_id"] if row["action"] != "create" else None
    counts = {
        a: sum(1 for r in rows if r["action"] == a)
        for a in ("create", "reschedule", "extend", "edit", "unchanged")
    }
    if as_json:
        echo_json({"file": str(file), "dry_run": dry_run, "counts": counts, "rows": rows})
        return
    for row in rows:
        target = f"outage #{row['outage_id']}" if row["outage_id"] else "new outage"
        click.echo(f"line {row['line']} {row['ref']}: {row['action']} ({target})")
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no rows"
    click.echo(f"{'Dry run, nothing written: ' if dry_run else ''}{file}: {summary}.")


@outages_group.command("list")
@click.option("--status", type=click.Choice(OUTAGE_STATUSES), help="Only outages in this state.")
@click.option("--utility", type=click.Choice(UTILITIES))
@JSON_OPTION
@pass_app
def list_cmd(app: AppContext, status: str | None, utility: str | None, as_json: bool) -> None:
    """List outages by start time.

    Example:

        outage-notify outages list --status planned
    """
    from outage_notify.planning.outage_list import describe_outage, outage_rows

    zone = app.settings.zone
    with app.database.read_connection() as connection:
        found = outage_rows(connection, status=status, utility=utility)
    rows = [describe_outage(o, zone) for o in found]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No outages.")
    for row in rows:
        click.echo(outage_line(row))


@outages_group.command("show")
@click.argument("key", metavar="ID|REF")
@JSON_OPTION
@pass_app
def show_cmd(app: AppContext, key: str, as_json: bool) -> None:
    """Show an outage with its revision history and notices; ID or work-order REF.

    Example:

        outage-notify outages show WO-2291
    """
    # Imported on use: the no-water summary pulls the notice templates (jinja2).
    from outage_notify.planning import outages
    from outage_notify.planning.outage_views import outage_detail
    from outage_notify.residents import nowater

    zone = app.settings.zone
    with app.database.read() as session:
        outage_id = outages.outage_id_of(session, key)
        outage = outages.get_outage(session, outage_id)
        pipes = _pipes(session, outage_id)
        data = outage_detail(session, outage, zone, extra={"pipes": pipes})
        data["no_water"] = nowater.summary(session, outage_id)
    if as_json:
        echo_json(data)
        return
    click.echo(outage_line(data))
    if data["pipes"]:
        click.echo("Pipes (targeted by valve isolation): " + ", ".join(data["pipes"]))
    if data["description"]:
        click.echo(data["description"])
    if data["no_water"]["reports"]:
        click.echo(nowater.summary_line(data["no_water"]))
    click.echo("History:")
    for rev in data["revisions"]:
        reason = f" ({rev['reason']})" if rev["reason"] else ""
        click.echo(
            f"  r{rev['revision']} {rev['change']:<11} {short(rev['start'])} - "
            f"{short(rev['end'])}  by {rev['actor']} at {short(rev['at'])}{reason}"
        )
    click.echo("Notices:")
    for notice in data["notices"]:
        click.echo(notice_line(notice))


@outages_group.command("preview")
@click.argument("key", metavar="ID|REF")
@JSON_OPTION
@now_option()
@pass_app
def preview_cmd(app: AppContext, key: str, as_json: bool, now_text: str | None) -> None:
    """Who would hear about an outage now, when, with which texts and at what SMS cost.

    Recipients are matched as of now; the daemon matches again when each notice falls due.
    Warns when an SMS needs more than 2 segments.

    Example:

        outage-notify outages preview 12 --json
    """
    from outage_notify.planning import outages

    settings, now = app.settings, now_of(app, now_text)
    with app.database.read() as session:
        outage = outages.get_outage(session, outages.outage_id_of(session, key))
        data = _preview(session, outage, settings=settings, now=now)
    if as_json:
        echo_json(data)
        return
    click.echo(outage_line(data["outage"]))
    echo_preview(data)
