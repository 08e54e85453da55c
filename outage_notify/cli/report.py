"""``outage-notify report``: the per-outage delivery report and the annual report."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import click

from outage_notify.cli.base import AppContext, echo_json, pass_app, stderr_is_terminal
from outage_notify.errors import InputError


@click.command()
@click.option(
    "--outage", "outage_key", metavar="ID|REF", help="Report on this outage (id or work order)."
)
@click.option("--year", metavar="YYYY", help="The annual report of this year (local time).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print CSV: with --outage the door-hanger list, with --year one row per figure.",
)
@click.option(
    "--door-hangers",
    "door_hangers",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="With --outage: also write the door-hanger list to FILE (UTF-8 with a BOM, so "
    "Excel reads the names).",
)
@click.option(
    "--door-knocks",
    "door_knocks",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="With --outage: also write the door-knock list (critical-needs customers no notice "
    "or call got an acknowledgement from, with the time left) to FILE, as --door-hangers.",
)
@click.option(
    "--now",
    metavar="T",
    help="Report as of T (ISO 8601; without an offset, in the configured time zone). Default: now.",
)
@pass_app
def report(
    app: AppContext,
    outage_key: str | None,
    year: str | None,
    as_json: bool,
    as_csv: bool,
    door_hangers: Path | None,
    door_knocks: Path | None,
    now: str | None,
) -> None:
    """Report on one outage's notices, or on a whole year.

    --outage ID|REF (the id or the work-order ref): per channel the count of deliveries in each
    state; late and expired deliveries and notices; failures grouped by error code; skipped
    deliveries by reason; opt-outs among the affected premises; possible duplicates after a
    crash; coverage (the share of affected premises reached before the work started) and the
    door-hanger list: every affected premise not reached, with the reason. Affected premises are
    matched on today's customer data. Then the critical-needs ladder: each critical customer's
    steps (notice, call, acknowledgement) and the door-knock list, with the time left before the
    work starts (--door-knocks FILE exports it; JSON: "critical").

    --year YYYY: outages by utility and status, customer-hours of interruption, messages sent
    by channel and kind, the median lead time of the first notice and the share that met
    schedule.min_notice, delivery success per channel, opt-outs, STOP/HELP replies and
    subscribers gained. Aggregates only; the same figures are public at /reports/YYYY.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @, phone numbers
    included) are prefixed with ' so they show as text.

    Example:

        outage-notify report --outage 42
        outage-notify report --outage WO-2291 --csv > door-hangers.csv
        outage-notify report --outage 42 --door-knocks door-knocks.csv
        outage-notify report --year 2026 --json
    """
    if (outage_key is None) == (year is None):
        raise click.UsageError("give either --outage ID or --year YYYY")
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    if (door_hangers is not None or door_knocks is not None) and outage_key is None:
        raise click.UsageError("--door-hangers and --door-knocks go with --outage")
    # Imported on use: the reports pull targeting (numpy, shapely) and rich's tables.
    from outage_notify.cli.report_tables import print_annual, print_escalations, print_outage
    from outage_notify.db import utcnow
    from outage_notify.planning.outages import outage_id_of
    from outage_notify.reports.annual import annual_report, csv_rows
    from outage_notify.reports.coverage import write_door_hangers
    from outage_notify.reports.door_knocks import escalation_report, write_door_knocks
    from outage_notify.reports.outage_report import outage_report
    from outage_notify.reports.spreadsheet import write_csv

    settings = app.settings
    zone = settings.zone
    at = utcnow() if now is None else _parse_time(now, zone)
    outage_id: int | None = None
    with _working(), app.database.read() as session:
        if outage_key is not None:
            outage_id = outage_id_of(session, outage_key)
            result = outage_report(session, outage_id, now=at)
            ladders = escalation_report(session, outage_id, now=at)
        else:
            assert year is not None
            annual = annual_report(session, year, settings=settings, now=at)
    if outage_id is not None:
        hangers = result.coverage.door_hangers
        if door_hangers is not None:
            count = _write_file(door_hangers, lambda out: write_door_hangers(out, hangers))
            click.echo(f"Wrote {count} door hangers to {door_hangers}.", err=True)
        if door_knocks is not None:
            count = _write_file(door_knocks, lambda out: write_door_knocks(out, ladders, zone))
            click.echo(f"Wrote {count} door knocks to {door_knocks}.", err=True)
        if as_json:
            echo_json({**result.as_dict(zone), "critical": ladders.as_dict(zone)})
        elif as_csv:
            write_door_hangers(sys.stdout, hangers)
        else:
            print_outage(result, zone, door_hangers)
            print_escalations(ladders, zone, result.outage.id, door_knocks)
        return
    if as_json:
        echo_json(annual.as_dict())
    elif as_csv:
        write_csv(sys.stdout, ("figure", "breakdown", "value"), csv_rows(annual))
    else:
        print_annual(annual)


def _working() -> AbstractContextManager[object]:
    """A spinner on a terminal's stderr: a big outage or a year takes seconds to count."""
    if not stderr_is_terminal():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status("Counting deliveries and matching premises…")


def _write_file(path: Path, write: Callable[[IO[str]], int]) -> int:
    """Write next to the target and rename: a reader never sees half a file."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {path}: directory {directory} does not exist")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
            count = write(handle)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    return count


def _parse_time(value: str, zone: ZoneInfo) -> datetime:
    """ISO 8601; a time without an offset is read in the configured zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"--now {value!r} is not an ISO 8601 time (e.g. 2026-12-01T08:00 or "
            "2026-12-01T08:00+08:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)
