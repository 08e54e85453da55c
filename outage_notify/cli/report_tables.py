"""The reports as rich tables, for a planner at a terminal (``report`` without --json/--csv)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from outage_notify.reports.annual import AnnualReport
from outage_notify.reports.coverage import REASONS
from outage_notify.reports.door_knocks import EscalationReport
from outage_notify.reports.outage_report import STATES, OutageReport
from outage_notify.residents import nowater


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    local = value.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _short(value: datetime, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%m-%d %H:%M}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} h"


def _console() -> Console:
    # No colour codes in a pipe or a file; a wide table rather than a wrapped one.
    return Console(highlight=False, soft_wrap=False, markup=False)


def print_outage(report: OutageReport, zone: ZoneInfo, written: Path | None) -> None:
    out = _console()
    o = report.outage
    cov = report.coverage
    out.print(
        f"Outage {o.id} · {o.utility} · {o.title} · {o.status} (revision {o.revision})",
        style="bold",
    )
    out.print(
        f"Work: {_when(o.start_at, zone)} to {_when(o.end_at, zone)}; areas: "
        f"{', '.join(o.area_codes)}; restored: {_when(o.restored_at, zone)}"
    )
    out.print(f"Report as of {_when(report.generated_at, zone)}.")
    if report.no_water.get("reports"):
        out.print(nowater.summary_line(report.no_water), style="bold red")
    reached = ", ".join(f"{c} {n}" for c, n in cov.reached_by_channel.items())
    out.print(
        f"Coverage: {cov.reached} of {cov.affected_premises} affected premises reached before "
        f"the start ({_share(cov.share)}; by channel: {reached})."
    )

    deliveries = Table(title="Deliveries by state", title_justify="left")
    channels = list(report.deliveries)
    deliveries.add_column("state")
    for channel in channels:
        deliveries.add_column(channel, justify="right")
    for state in STATES:
        deliveries.add_row(state, *(str(report.deliveries[c][state]) for c in channels))
    totals = [str(sum(report.deliveries[c].values())) for c in channels]
    deliveries.add_row("total", *totals, style="bold")
    deliveries.add_row(
        "late (sent > 5 min after due)", *(str(report.late_deliveries.get(c, 0)) for c in channels)
    )
    deliveries.add_row(
        "possible duplicates", *(str(report.duplicate_counts.get(c, 0)) for c in channels)
    )
    out.print(deliveries)

    notices = Table(title="Notices", title_justify="left")
    for name in ("id", "kind", "audience", "rev", "due", "state", "late", "sent"):
        notices.add_column(name, no_wrap=name == "due")
    for n in report.notices:
        sent = ", ".join(
            f"{c} {n.deliveries[c].get('sent', 0) + n.deliveries[c].get('delivered', 0)}"
            for c in channels
            if c in n.deliveries
        )
        notices.add_row(
            str(n.id),
            n.kind,
            n.audience,
            str(n.revision),
            _short(n.due_at, zone),
            n.state,
            "late" if n.late else "",
            sent or "-",
        )
    out.print(notices if report.notices else "Notices: none planned.")

    if report.failures:
        failures = Table(title="Failures", title_justify="left")
        for name in ("channel", "state", "code", "reason", "count"):
            failures.add_column(name, justify="right" if name == "count" else "left")
        for f in report.failures:
            failures.add_row(f.channel, f.state, f.code or "-", f.reason, str(f.count))
        out.print(failures)
    else:
        out.print("Failures: none.")
    skipped = "; ".join(
        f"{c}: " + ", ".join(f"{r} {n}" for r, n in reasons.items())
        for c, reasons in report.skipped.items()
        if reasons
    )
    out.print(f"Skipped: {skipped or 'none'}.")
    sources = ", ".join(f"{s} {n}" for s, n in cov.opt_out_sources.items()) or "none"
    out.print(
        "Opt-outs among the affected premises: "
        + ", ".join(f"{c} {n}" for c, n in cov.opted_out.items())
        + f"; of every channel {cov.opted_out_every_channel}; by source: {sources}."
    )
    if cov.channel_without_contact or cov.channel_fallback:
        out.print(
            "Channels asked for without a contact: "
            f"{cov.channel_without_contact} reached on the rest of their chosen channels, "
            f"{cov.channel_fallback} on every channel they have a contact for."
        )

    out.print(f"\nDoor-hanger list: {len(cov.door_hangers)} premises not reached.", style="bold")
    if cov.door_hangers:
        reasons = Table(show_header=True)
        reasons.add_column("reason")
        reasons.add_column("premises", justify="right")
        reasons.add_column("meaning")
        for reason, count in cov.reasons().items():
            reasons.add_row(reason, str(count), REASONS[reason])
        out.print(reasons)
        if written is None:
            out.print(f"List them: outage-notify report --outage {o.id} --csv > door-hangers.csv")


def print_escalations(
    report: EscalationReport, zone: ZoneInfo, outage_id: int | None, written: Path | None
) -> None:
    """Each critical customer's ladder, and the door-knock list with the time left."""
    if not report.ladders:
        return
    out = _console()
    stages = ", ".join(f"{stage} {n}" for stage, n in report.stages().items())
    out.print(f"\nCritical-needs customers: {stages}.", style="bold")
    ladders = Table(show_header=True)
    for name in ("account", "stage", "steps"):
        ladders.add_column(name)
    for ladder in report.ladders:
        ladders.add_row(ladder.account_id, ladder.stage, ladder.history(zone))
    out.print(ladders)
    rows = report.door_knock_rows(zone)
    out.print(f"Door-knock list: {len(rows)} critical-needs premises to visit.", style="bold")
    if rows:
        knocks = Table(show_header=True)
        for name in ("account", "name", "address", "phone", "time left"):
            knocks.add_column(name)
        for row in rows:
            knocks.add_row(*(str(row[i]) for i in (0, 1, 2, 3, 7)))
        out.print(knocks)
        if written is None:
            out.print(
                f"Export it: outage-notify report --outage {outage_id} "
                "--door-knocks door-knocks.csv"
            )


def print_annual(report: AnnualReport) -> None:
    out = _console()
    zone = ZoneInfo(report.timezone)
    out.print(
        f"Annual report {report.year} ({report.timezone}: "
        f"{_when(report.start, zone)} to {_when(report.end, zone)}); "
        f"{report.outage_count} outages.",
        style="bold",
    )
    outages = Table(title="Outages", title_justify="left")
    statuses = list(next(iter(report.outages.values())))
    outages.add_column("utility")
    for status in (*statuses, "total"):
        outages.add_column(status, justify="right")
    for utility, by_status in report.outages.items():
        outages.add_row(
            utility, *(str(by_status[s]) for s in statuses), str(sum(by_status.values()))
        )
    out.print(outages)

    hours = Table(title="Customer-hours of interruption", title_justify="left")
    for name in ("utility", "premises", "planned", "actual (restored)", "estimate"):
        hours.add_column(name, justify="left" if name == "utility" else "right")
    for utility, figures in report.customer_hours.items():
        shown = [f"{figures[k]:,.1f}" for k in ("planned", "actual", "estimate")]
        hours.add_row(utility, f"{report.premises_affected.get(utility, 0):,}", *shown)
    out.print(hours)

    messages = Table(title="Messages sent", title_justify="left")
    messages.add_column("kind")
    for channel in report.messages:
        messages.add_column(channel, justify="right")
    kinds = list(next(iter(report.messages.values())))
    for kind in kinds:
        messages.add_row(kind, *(str(report.messages[c][kind]) for c in report.messages))
    out.print(messages)

    first = report.first_notice
    minimum = first.min_notice.total_seconds() / 3600
    out.print(
        f"First notice: median lead {_hours(first.median_hours)}; {first.met_min_notice} of "
        f"{first.measured} outages ({_share(first.share_met)}) met the {minimum:g} h minimum; "
        f"{len(first.without_notice)} without any notice."
    )
    success = Table(title="Delivery success", title_justify="left")
    for name in ("channel", "attempted", "succeeded", "rate"):
        success.add_column(name, justify="left" if name == "channel" else "right")
    for channel, outcome in report.delivery.items():
        success.add_row(
            channel, str(outcome.attempted), str(outcome.succeeded), _share(outcome.rate)
        )
    out.print(success)
    opt_outs = "; ".join(
        f"{source}: " + ", ".join(f"{c} {n}" for c, n in channels.items())
        for source, channels in report.opt_outs.items()
    )
    out.print(f"Opt-outs: {opt_outs or 'none'}.")
    out.print("Replies: " + ", ".join(f"{k.upper()} {n}" for k, n in report.inbound.items()) + ".")
    gained = "; ".join(
        f"{channel}: " + (", ".join(f"{s} {n}" for s, n in sources.items()) or "0")
        for channel, sources in report.subscribers.items()
    )
    out.print(f"Subscribers gained: {gained}.")
