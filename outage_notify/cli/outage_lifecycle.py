"""``outage-notify outages reschedule|extend|cancel|restore|approve``: each a new revision, audited,
with the notices it supersedes and adds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from outage_notify.cli.base import AppContext, actor_option, echo_json, pass_app
from outage_notify.cli.outages import (
    JSON_OPTION,
    notice_line,
    outage_line,
    outages_group,
    transaction,
)
from outage_notify.cli.times import now_option, rehearsal_now, to_utc

if TYPE_CHECKING:
    from sqlmodel import Session

    from outage_notify.models import Outage


def _report(
    app: AppContext,
    as_json: bool,
    change: Callable[[Session], Outage],
    verb: str,
    *,
    dry_run: bool = False,
) -> None:
    from outage_notify.planning.outage_views import describe_notice, describe_outage, notices
    from outage_notify.states import NoticeState

    zone = app.settings.zone
    with transaction(app, dry_run=dry_run) as session:
        outage = change(session)
        data: dict[str, Any] = describe_outage(outage, zone)
        rows = notices(session, outage.id or 0)
        data["notices_added"] = [
            describe_notice(n, zone) for n in rows if n.revision == outage.revision
        ]
        data["notices_pending"] = sum(1 for n in rows if n.state == NoticeState.PENDING)
    if as_json:
        echo_json({**data, "dry_run": dry_run})
        return
    click.echo(
        f"{'Dry run, nothing written: would be ' if dry_run else ''}{verb} {outage_line(data)}"
    )
    click.echo("Notices of this revision:")
    for notice in data["notices_added"]:
        click.echo(notice_line(notice))


DRY_RUN_OPTION = click.option(
    "--dry-run", is_flag=True, help="Check and show the change and its notices; write nothing."
)


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in (pass_app, actor_option(), now_option(), JSON_OPTION, DRY_RUN_OPTION):
        command = decorator(command)
    # The id or the work-order ref (WO-2291), resolved in the change's own transaction.
    return click.argument("outage_id", metavar="ID|REF")(command)


@outages_group.command("reschedule")
@click.option("--start", "start_text", metavar="T", required=True, help="The new start.")
@click.option("--end", "end_text", metavar="T", required=True, help="The new end.")
@click.option("--short-notice", is_flag=True, help="Allow moving the start closer than min_notice.")
@click.option(
    "--long-shutoff",
    is_flag=True,
    help="Confirm a shutoff longer than schedule.plausible_length (else refused as a likely typo).",
)
@_common
def reschedule_cmd(
    app: AppContext,
    outage_id: str,
    start_text: str,
    end_text: str,
    short_notice: bool,
    long_shutoff: bool,
    as_json: bool,
    now_text: str | None,
    actor: str,
    dry_run: bool,
) -> None:
    """Move work that has not started. Pending notices are superseded and recomputed, and a
    "changed" notice ("now 09:00-13:00, was 08:00-12:00") goes out to those already
    notified (or to everyone, when their first notice would be due now anyway).

    Example:

    \b
        outage-notify outages reschedule 12 --start 2026-12-02T09:00 --end 2026-12-02T13:00
    """
    from outage_notify.planning import outages

    start, end = to_utc(app, start_text, "--start"), to_utc(app, end_text, "--end")
    now = rehearsal_now(app, now_text, dry_run=dry_run)
    _report(
        app,
        as_json,
        lambda s: outages.reschedule(
            s,
            outages.outage_id_of(s, outage_id),
            start=start,
            end=end,
            settings=app.settings,
            now=now,
            actor=actor,
            short_notice=short_notice,
            long_shutoff=long_shutoff,
        ),
        "Rescheduled",
        dry_run=dry_run,
    )


@outages_group.command("extend")
@click.option("--end", "end_text", metavar="T", required=True, help="The new, later end.")
@click.option(
    "--long-shutoff",
    is_flag=True,
    help="Confirm a shutoff longer than schedule.plausible_length (else refused as a likely typo).",
)
@_common
def extend_cmd(
    app: AppContext,
    outage_id: str,
    end_text: str,
    long_shutoff: bool,
    as_json: bool,
    now_text: str | None,
    actor: str,
    dry_run: bool,
) -> None:
    """The work takes longer: an "extended" notice goes to those already notified.

    Example:

        outage-notify outages extend 12 --end 2026-12-01T15:00
    """
    from outage_notify.planning import outages

    end, now = to_utc(app, end_text, "--end"), rehearsal_now(app, now_text, dry_run=dry_run)
    _report(
        app,
        as_json,
        lambda s: outages.extend(
            s,
            outages.outage_id_of(s, outage_id),
            end=end,
            settings=app.settings,
            now=now,
            actor=actor,
            long_shutoff=long_shutoff,
        ),
        "Extended",
        dry_run=dry_run,
    )


@outages_group.command("cancel")
@click.option("--reason", help="Why, for the audit log, the web page and email.")
@_common
def cancel_cmd(
    app: AppContext,
    outage_id: str,
    reason: str | None,
    as_json: bool,
    now_text: str | None,
    actor: str,
    dry_run: bool,
) -> None:
    """Call off work that has not started. Pending notices are superseded and a
    "cancelled" notice goes to those already notified.

    Example:

        outage-notify outages cancel 12 --reason "crew reassigned to a burst main"
    """
    from outage_notify.planning import outages

    now = rehearsal_now(app, now_text, dry_run=dry_run)
    _report(
        app,
        as_json,
        lambda s: outages.cancel(
            s,
            outages.outage_id_of(s, outage_id),
            reason=reason,
            settings=app.settings,
            now=now,
            actor=actor,
        ),
        "Cancelled",
        dry_run=dry_run,
    )


@outages_group.command("restore")
@_common
def restore_cmd(
    app: AppContext, outage_id: str, as_json: bool, now_text: str | None, actor: str, dry_run: bool
) -> None:
    """Service is back: a "restored" notice goes to those notified.

    Example:

        outage-notify outages restore 12
    """
    from outage_notify.planning import outages

    now = rehearsal_now(app, now_text, dry_run=dry_run)
    _report(
        app,
        as_json,
        lambda s: outages.restore(
            s, outages.outage_id_of(s, outage_id), settings=app.settings, now=now, actor=actor
        ),
        "Restored",
        dry_run=dry_run,
    )


@outages_group.command("approve")
@_common
def approve_cmd(
    app: AppContext, outage_id: str, as_json: bool, now_text: str | None, actor: str, dry_run: bool
) -> None:
    """An outage from an untrusted source (status "review") goes live: its notices are
    planned as for `outages add`, and it is published.

    Example:

        outage-notify outages approve 12
    """
    from outage_notify.planning import outages, review

    now = rehearsal_now(app, now_text, dry_run=dry_run)
    _report(
        app,
        as_json,
        lambda s: review.approve(
            s, outages.outage_id_of(s, outage_id), settings=app.settings, now=now, actor=actor
        ),
        "Approved",
        dry_run=dry_run,
    )
