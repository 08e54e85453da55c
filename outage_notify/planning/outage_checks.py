"""Checking an outage before it is planned or changed: every problem in a planner's words.

``outages.py`` refuses a change with these problems (InputError lists them all); the CSV
import and the API run the same checks, so a problem reads the same whichever way it comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from outage_notify.errors import Problem
from outage_notify.models import Outage, OutageStatus, ServiceArea
from outage_notify.plain_text import control_character_problem, has_control_characters
from outage_notify.settings import Settings
from outage_notify.states import UTILITIES
from outage_notify.times import format_local, outside_window

TITLE_MAX, DESCRIPTION_MAX, REF_MAX, REASON_MAX = 120, 4000, 64, 500


@dataclass(frozen=True)
class OutageDraft:
    """An outage as a planner describes it, before it is checked. Times are aware."""

    utility: str
    title: str
    start: datetime
    end: datetime
    areas: Sequence[str]
    description: str = ""
    ref: str | None = None
    geometry: dict[str, Any] | None = None  # an upstream feed's polygon (see targeting)
    # Pipes worked on: a network outage, targeted by valve isolation (its areas, if any, are
    # for the feeds' subscribers and for comparison in the preview).
    pipes: Sequence[str] = ()
    area_list: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        # Keep the planner's order, drop blanks and repeats.
        codes = [code.strip() for code in self.areas if code.strip()]
        object.__setattr__(self, "area_list", list(dict.fromkeys(codes)))


def shown(value: datetime, settings: Settings) -> str:
    """A time as problems name it: local, to the minute."""
    return format_local(value, settings.zone)


def _duration(delta: Any) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f}m"


def check_times(
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    now: datetime,
    short_notice: bool,
    earlier_than: datetime | None = None,
    long_shutoff: bool = False,
) -> list[str]:
    """Problems with a start and end: outside the planning window, too long, order, in the
    past, too little notice.

    ``earlier_than``: for a reschedule, the current start; moving later never shortens the
    notice residents get, so only a move earlier must respect ``min_notice``.
    """
    outside = [
        Problem(reason, name)
        for name, value in (("start", start), ("end", end))
        if (reason := outside_window(value, now=now, name=name)) is not None
    ]
    if outside:
        # The rest (order, notice) would only be noise about a time that is not a time.
        return list(outside)
    problems: list[str] = []
    if too_long := check_length(start, end, settings=settings, long_shutoff=long_shutoff):
        problems.append(too_long)
    if start >= end:
        problems.append(
            Problem(
                f"start {shown(start, settings)} is not before end {shown(end, settings)}",
                "end",
            )
        )
    if start <= now:
        problems.append(
            Problem(
                f"start {shown(start, settings)} is in the past (now {shown(now, settings)})",
                "start",
            )
        )
    elif not short_notice and (earlier_than is None or start < earlier_than):
        min_notice = settings.schedule.min_notice
        if start - now < min_notice:
            problems.append(
                Problem(
                    f"start is only {_duration(start - now)} away, less than "
                    f"schedule.min_notice ({_duration(min_notice)}): plan earlier, or pass "
                    "--short-notice",
                    "start",
                )
            )
    return problems


def check_length(
    start: datetime, end: datetime, *, settings: Settings, long_shutoff: bool
) -> Problem | None:
    """A shutoff longer than ``schedule.plausible_length`` is most likely a typo (a month for a
    day): refused unless the planner confirms it (``--long-shutoff``)."""
    plausible = settings.schedule.plausible_length
    if long_shutoff or end - start <= plausible:
        return None
    return Problem(
        f"the shutoff would last {_duration(end - start)}, longer than "
        f"schedule.plausible_length ({_duration(plausible)}): check the dates; if it is right, "
        "pass --long-shutoff",
        "end",
    )


def check_text(title: str, description: str) -> list[str]:
    problems: list[str] = []
    title = title.strip()
    for name, value in (("title", title), ("description", description)):
        if control := control_character_problem(name, value):
            problems.append(Problem(control, name))
    if not title:
        problems.append(Problem("title is empty", "title"))
    elif len(title) > TITLE_MAX:
        problems.append(Problem(f"title is {len(title)} characters; at most {TITLE_MAX}", "title"))
    if len(description.strip()) > DESCRIPTION_MAX:
        problems.append(
            Problem(f"description is longer than {DESCRIPTION_MAX} characters", "description")
        )
    return problems


def check_draft(
    session: Session,
    draft: OutageDraft,
    *,
    settings: Settings,
    now: datetime,
    short_notice: bool,
    long_shutoff: bool = False,
) -> list[str]:
    """Every problem with a draft, in words a planner can act on (empty: it is fine)."""
    problems: list[str] = []
    if draft.utility not in UTILITIES:
        problems.append(Problem(f"unknown utility {draft.utility!r} (use water or gas)", "utility"))
    problems += check_text(draft.title, draft.description)
    if draft.ref is not None:
        if control := control_character_problem("ref", draft.ref):
            problems.append(Problem(control, "ref"))
        elif not draft.ref.strip() or len(draft.ref.strip()) > REF_MAX:
            problems.append(Problem(f"ref must be 1-{REF_MAX} characters", "ref"))
        else:
            taken = session.exec(select(Outage.id).where(Outage.ref == draft.ref.strip())).first()
            if taken is not None:
                problems.append(
                    Problem(
                        f"ref {draft.ref.strip()} is already outage #{taken}", "ref", conflict=True
                    )
                )
    if draft.area_list or not draft.pipes:
        problems += check_areas(session, draft.area_list, draft.utility)
    # Imported here: numpy and shapely are for outages planned by pipe, not every command.
    from outage_notify.planning import network_match

    problems += network_match.check_pipes(session, list(dict.fromkeys(draft.pipes)), draft.utility)
    problems += check_times(
        draft.start,
        draft.end,
        settings=settings,
        now=now,
        short_notice=short_notice,
        long_shutoff=long_shutoff,
    )
    return problems


def check_areas(session: Session, codes: Sequence[str], utility: str) -> list[str]:
    if not codes:
        return [Problem("no area given (at least one area code, or a --pipe)", "areas")]
    if has_control_characters(*codes):
        return [Problem("an area code contains a control character", "areas")]
    found = {
        a.code: a.utility
        for a in session.exec(select(ServiceArea).where(col(ServiceArea.code).in_(list(codes))))
    }
    problems: list[str] = []
    for code in codes:
        if code not in found:
            problems.append(
                Problem(f"area {code} does not exist (see `outage-notify areas list`)", "areas")
            )
        elif utility in UTILITIES and found[code] != utility:
            problems.append(Problem(f"area {code} is a {found[code]} area, not {utility}", "areas"))
    return problems


def not_planned(outage: Outage, doing: str) -> Problem:
    return Problem(f"outage #{outage.id} is {outage.status}: it cannot be {doing}", conflict=True)


def check_reschedule(
    outage: Outage,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    now: datetime,
    short_notice: bool,
    long_shutoff: bool = False,
) -> list[str]:
    if outage.status != OutageStatus.PLANNED:
        return [not_planned(outage, "rescheduled")]
    if outage.start_at <= now:
        return [
            Problem(
                f"outage #{outage.id} started at {shown(outage.start_at, settings)}: use "
                "`outage-notify outages extend` to change its end",
                conflict=True,
            )
        ]
    if (start, end) == (outage.start_at, outage.end_at):
        return [Problem("the new times are the current ones: nothing to change", "start")]
    return check_times(
        start,
        end,
        settings=settings,
        now=now,
        short_notice=short_notice,
        earlier_than=outage.start_at,
        long_shutoff=long_shutoff,
    )


def check_extend(
    outage: Outage, end: datetime, *, settings: Settings, now: datetime, long_shutoff: bool = False
) -> list[str]:
    if outage.status != OutageStatus.PLANNED:
        return [not_planned(outage, "extended")]
    if (reason := outside_window(end, now=now, name="end")) is not None:
        return [Problem(reason, "end")]
    too_long = check_length(outage.start_at, end, settings=settings, long_shutoff=long_shutoff)
    if too_long is not None:
        return [too_long]
    if end <= outage.end_at:
        return [
            Problem(
                f"the new end {shown(end, settings)} is not after the current end "
                f"{shown(outage.end_at, settings)}: use `outage-notify outages reschedule` to "
                "shorten",
                "end",
            )
        ]
    return []
