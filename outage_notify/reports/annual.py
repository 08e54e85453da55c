"""The annual disclosure report: what the utility did in a year to keep residents informed
(``outage-notify report --year YYYY`` and the public page ``/reports/{year}``).

Aggregates only: no name, address, phone number or email ever leaves this module. The year
runs from 1 January 00:00 to the next 1 January 00:00 in the configured time zone. Figures
about outages, notices and deliveries cover the outages whose work starts in the year (a
December outage's notices count in that year even when sent in November); opt-outs, STOP/HELP
replies and subscribers count what happened in the year.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.errors import InputError, NotFoundError
from outage_notify.models import (
    UPCOMING_KINDS,
    Delivery,
    DeliveryState,
    InboundMessage,
    Notice,
    NoticeKind,
    OptOut,
    Outage,
    OutageStatus,
    Subscriber,
)
from outage_notify.planning.matching import match_outage_customers
from outage_notify.settings import Settings
from outage_notify.states import UTILITIES

MIN_YEAR, MAX_YEAR = 1970, 9998
# An outage still waiting for review (an untrusted source's) was never announced: not counted.
STATUSES = tuple(s.value for s in OutageStatus if s != OutageStatus.REVIEW)
KINDS = tuple(k.value for k in NoticeKind)
# Handed to the provider: a message "sent" in the year's figures.
SENT_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.UNDELIVERED)
SUCCESS_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED)
# The denominator of the success rate. Skipped (opted out, no contact) and superseded (the
# plan changed) deliveries were never meant to go; pending and sending have no outcome yet.
# Expired ones were meant to go and did not: they count against the rate.
ATTEMPTED_STATES = (*SENT_STATES, DeliveryState.FAILED, DeliveryState.EXPIRED)
INBOUND_KEYWORDS = ("stop", "start", "help", "status", "sub")


def check_year(text: str | int) -> int:
    """A year from outside (a flag, a URL): an int in range, or InputError."""
    try:
        year = int(str(text).strip())
    except ValueError:
        raise InputError(f"{text!r} is not a year; write it as four digits, e.g. 2026") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputError(f"year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    return year


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) at local midnight, as UTC."""
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return start, end


def report_years(session: Session, zone: ZoneInfo) -> list[int]:
    """The years in which some outage starts (local time), newest first."""
    starts = session.execute(select(col(Outage.start_at))).scalars()
    return sorted({start.astimezone(zone).year for start in starts}, reverse=True)


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(col(column) >= start, col(column) < end)


@dataclass
class FirstNotice:
    """How early the first notice of each outage went out (start minus its ``sent_at``)."""

    min_notice: timedelta
    lead_hours: dict[int, float] = field(default_factory=dict)  # outage id -> hours
    without_notice: list[int] = field(default_factory=list)  # outage ids

    @property
    def measured(self) -> int:
        return len(self.lead_hours) + len(self.without_notice)

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.lead_hours.values()) if self.lead_hours else None

    @property
    def met_min_notice(self) -> int:
        limit = self.min_notice.total_seconds() / 3600
        return sum(1 for hours in self.lead_hours.values() if hours >= limit)

    @property
    def share_met(self) -> float | None:
        return self.met_min_notice / self.measured if self.measured else None


@dataclass
class ChannelOutcome:
    states: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return sum(self.states.get(s, 0) for s in ATTEMPTED_STATES)

    @property
    def succeeded(self) -> int:
        return sum(self.states.get(s, 0) for s in SUCCESS_STATES)

    @property
    def rate(self) -> float | None:
        return self.succeeded / self.attempted if self.attempted else None


def _zero_table(rows: tuple[str, ...], columns: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {row: dict.fromkeys(columns, 0) for row in rows}


@dataclass
class AnnualReport:
    year: int
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    outages: dict[str, dict[str, int]] = field(
        default_factory=lambda: _zero_table(UTILITIES, STATUSES)
    )
    premises_affected: dict[str, int] = field(default_factory=dict)  # per utility, per outage
    # Per utility: planned (every outage not cancelled), actual (restored ones), estimate
    # (actual where restored, planned otherwise).
    customer_hours: dict[str, dict[str, float]] = field(default_factory=dict)
    restored_outages: int = 0
    messages: dict[str, dict[str, int]] = field(
        default_factory=lambda: _zero_table(registry.names(), KINDS)
    )
    first_notice: FirstNotice = field(default_factory=lambda: FirstNotice(timedelta(hours=24)))
    delivery: dict[str, ChannelOutcome] = field(default_factory=dict)
    opt_outs: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> channel -> n
    inbound: dict[str, int] = field(default_factory=dict)  # keyword -> n
    subscribers: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> source

    @property
    def outage_count(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.outages.values())

    def as_dict(self) -> dict[str, Any]:
        zone = ZoneInfo(self.timezone)
        first = self.first_notice
        hours = self.customer_hours
        total_hours = {
            key: round(sum(h[key] for h in hours.values()), 2)
            for key in ("planned", "actual", "estimate")
        }
        return {
            "year": self.year,
            "timezone": self.timezone,
            "from": self.start.astimezone(zone).isoformat(),
            "to": self.end.astimezone(zone).isoformat(),
            "generated_at": self.generated_at.astimezone(zone).isoformat(),
            "outages": {
                "total": self.outage_count,
                "by_utility": {u: {"total": sum(s.values()), **s} for u, s in self.outages.items()},
            },
            "premises_affected": self.premises_affected,
            "customer_hours": {
                **total_hours,
                "restored_outages": self.restored_outages,
                "by_utility": {u: {k: round(v, 2) for k, v in h.items()} for u, h in hours.items()},
            },
            "messages_sent": self.messages,
            "first_notice": {
                "outages_measured": first.measured,
                "without_notice": len(first.without_notice),
                "median_lead_hours": _round(first.median_hours, 2),
                "min_notice_hours": round(first.min_notice.total_seconds() / 3600, 2),
                "met_min_notice": first.met_min_notice,
                "share_met_min_notice": _round(first.share_met, 4),
            },
            "delivery_success": {
                channel: {
                    "attempted": outcome.attempted,
                    "succeeded": outcome.succeeded,
                    "rate": _round(outcome.rate, 4),
                    "states": outcome.states,
                }
                for channel, outcome in self.delivery.items()
            },
            "opt_outs": {
                "total": sum(sum(c.values()) for c in self.opt_outs.values()),
                "by_source": self.opt_outs,
            },
            "inbound": self.inbound,
            "subscribers_gained": {
                "total": sum(sum(s.values()) for s in self.subscribers.values()),
                "by_channel": self.subscribers,
            },
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def annual_report(
    session: Session, year: int | str, *, settings: Settings, now: datetime
) -> AnnualReport:
    """The year's figures. InputError for a year out of range, NotFoundError for a year in
    which no outage starts."""
    year = check_year(year)
    zone = settings.zone
    start, end = year_bounds(year, zone)
    outages = list(
        session.exec(
            select(Outage)  # type: ignore[call-overload]
            .where(_in(Outage.start_at, start, end), col(Outage.status) != OutageStatus.REVIEW)
            .order_by(col(Outage.start_at))
        ).scalars()
    )
    if not outages:
        known = ", ".join(str(y) for y in report_years(session, zone)) or "none yet"
        raise NotFoundError(f"no report for {year}: no outage starts in it (years: {known})")
    report = AnnualReport(
        year=year,
        timezone=settings.timezone,
        start=start,
        end=end,
        generated_at=now,
        first_notice=FirstNotice(settings.schedule.min_notice),
    )
    affected = _outage_figures(session, report, outages)
    _first_notices(session, report, outages, affected, now)
    _deliveries(session, report, start, end)
    _events(session, report, start, end)
    return report


def _outage_figures(
    session: Session, report: AnnualReport, outages: list[Outage]
) -> dict[int, int]:
    """Counts by utility and status, and customer-hours; returns affected premises per id."""
    affected: dict[int, int] = {}
    hours = {u: {"planned": 0.0, "actual": 0.0, "estimate": 0.0} for u in UTILITIES}
    premises: Counter[str] = Counter()
    for outage in outages:
        assert outage.id is not None
        report.outages.setdefault(outage.utility, dict.fromkeys(STATUSES, 0))
        report.outages[outage.utility][outage.status] += 1
        if outage.status == OutageStatus.CANCELLED:
            continue  # the work never happened: nobody was interrupted
        count = affected[outage.id] = len(match_outage_customers(session, outage))
        premises[outage.utility] += count
        planned = count * (outage.end_at - outage.start_at).total_seconds() / 3600
        figures = hours.setdefault(outage.utility, {"planned": 0.0, "actual": 0.0, "estimate": 0.0})
        figures["planned"] += planned
        if outage.status == OutageStatus.RESTORED and outage.restored_at is not None:
            actual = count * max((outage.restored_at - outage.start_at).total_seconds(), 0) / 3600
            figures["actual"] += actual
            figures["estimate"] += actual
            report.restored_outages += 1
        else:
            figures["estimate"] += planned
    report.customer_hours = hours
    report.premises_affected = {u: premises[u] for u in hours}
    return affected


def _first_notices(
    session: Session,
    report: AnnualReport,
    outages: list[Outage],
    affected: dict[int, int],
    now: datetime,
) -> None:
    first_sent = dict(
        session.execute(
            select(col(Notice.outage_id), func.min(col(Delivery.sent_at)))
            .join(Delivery, col(Delivery.notice_id) == col(Notice.id))
            .join(Outage, col(Outage.id) == col(Notice.outage_id))
            .where(
                _in(Outage.start_at, report.start, report.end),
                col(Notice.kind).in_(list(UPCOMING_KINDS)),
                col(Delivery.state).in_(SENT_STATES),
                col(Delivery.sent_at).is_not(None),
            )
            .group_by(col(Notice.outage_id))
        ).all()
    )
    first = report.first_notice
    for outage in outages:
        assert outage.id is not None
        # Only work that went ahead and had somebody to tell; an outage still ahead without a
        # notice is not late yet.
        if outage.status == OutageStatus.CANCELLED or not affected.get(outage.id):
            continue
        sent = first_sent.get(outage.id)
        if sent is not None:
            first.lead_hours[outage.id] = (outage.start_at - sent).total_seconds() / 3600
        elif outage.start_at <= now:
            first.without_notice.append(outage.id)


def _deliveries(session: Session, report: AnnualReport, start: datetime, end: datetime) -> None:
    rows = session.execute(
        select(col(Delivery.channel), col(Notice.kind), col(Delivery.state), func.count())
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .join(Outage, col(Outage.id) == col(Notice.outage_id))
        .where(_in(Outage.start_at, start, end))
        .group_by(col(Delivery.channel), col(Notice.kind), col(Delivery.state))
    )
    every_state = [state.value for state in DeliveryState]
    report.delivery = {c: ChannelOutcome(dict.fromkeys(every_state, 0)) for c in registry.names()}
    for channel, kind, state, count in rows:
        outcome = report.delivery.setdefault(channel, ChannelOutcome())
        outcome.states[state] = outcome.states.get(state, 0) + count
        if state in SENT_STATES:
            by_kind = report.messages.setdefault(channel, dict.fromkeys(KINDS, 0))
            by_kind[kind] = by_kind.get(kind, 0) + count


def _events(session: Session, report: AnnualReport, start: datetime, end: datetime) -> None:
    opt_outs = session.execute(
        select(col(OptOut.source), col(OptOut.channel), func.count())
        .where(_in(OptOut.created_at, start, end))
        .group_by(col(OptOut.source), col(OptOut.channel))
    )
    for source, channel, count in opt_outs:
        report.opt_outs.setdefault(source, {c: 0 for c in registry.names()})[channel] = count
    report.opt_outs = dict(sorted(report.opt_outs.items()))
    inbound = dict(
        session.execute(
            select(col(InboundMessage.keyword), func.count())
            .where(_in(InboundMessage.received_at, start, end))
            .group_by(col(InboundMessage.keyword))
        ).all()
    )
    report.inbound = {k: inbound.pop(k, 0) for k in INBOUND_KEYWORDS}
    report.inbound["other"] = sum(inbound.values())
    subscribers = session.execute(
        select(col(Subscriber.channel), col(Subscriber.consent_source), func.count())
        .where(_in(Subscriber.consent_at, start, end))
        .group_by(col(Subscriber.channel), col(Subscriber.consent_source))
    )
    report.subscribers = {c: {} for c in registry.names()}
    for channel, source, count in subscribers:
        report.subscribers.setdefault(channel, {})[source] = count


def csv_rows(report: AnnualReport) -> list[tuple[str, str, object]]:
    """The report in long form, (figure, breakdown, value), for ``--csv``."""
    data = report.as_dict()
    rows: list[tuple[str, str, object]] = [("outages", "", data["outages"]["total"])]
    for utility, by_status in data["outages"]["by_utility"].items():
        rows += [(f"outages_{status}", utility, n) for status, n in by_status.items()]
    rows += [("premises_affected", u, n) for u, n in data["premises_affected"].items()]
    hours = data["customer_hours"]
    for key in ("planned", "actual", "estimate"):
        rows.append((f"customer_hours_{key}", "", hours[key]))
        rows += [(f"customer_hours_{key}", u, h[key]) for u, h in hours["by_utility"].items()]
    rows.append(("restored_outages", "", hours["restored_outages"]))
    for channel, kinds in data["messages_sent"].items():
        rows += [("messages_sent", f"{channel}/{kind}", n) for kind, n in kinds.items()]
    rows += [(f"first_notice_{k}", "", v) for k, v in data["first_notice"].items()]
    for channel, outcome in data["delivery_success"].items():
        for key in ("attempted", "succeeded", "rate"):
            rows.append((f"delivery_{key}", channel, outcome[key]))
    for source, channels in data["opt_outs"]["by_source"].items():
        rows += [("opt_outs", f"{source}/{channel}", n) for channel, n in channels.items()]
    rows += [("inbound", keyword, n) for keyword, n in data["inbound"].items()]
    for channel, sources in data["subscribers_gained"]["by_channel"].items():
        rows += [("subscribers_gained", f"{channel}/{source}", n) for source, n in sources.items()]
    return rows
