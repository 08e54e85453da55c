"""The notice timeline: which notices an outage revision gets, and when each falls due.

Rules (docs/planning.md explains them to planners):

- Upcoming work: one notice per lead time of the utility (``schedule.water``/``gas``) before
  the start, the first ``advance``, the later ones ``reminder``, to ``audience="all"``. Lead
  times already past at planning collapse into ONE immediate notice, due now.
- Critical-needs customers get one more ``advance`` at ``critical_lead`` before the start
  (``audience="critical"``) when that is earlier than the first lead time; past, it is due now,
  unless the immediate notice to everyone already covers them.
- ``due_at`` is when email goes (never held). ``sms_due_at`` respects ``quiet_hours``: an SMS
  due inside them moves earlier, to the end of the previous allowed window, when that is
  still after now; else to the end of the quiet window when that is before the work starts;
  else it goes now, flagged ``urgent``. Two notices are never sent by SMS at the same moment:
  a later notice whose SMS would not go after the previous one's merges into it.
- ``deadline``: after it an undelivered notice expires. For advance, reminder and changed:
  the (new) start. Extended: the new end. Cancelled: the old end (until then residents may
  still be preparing). Restored: 12 hours after the restoration, long enough for a night's
  quiet hours to pass, so the news waits for the morning instead of waking anyone.
- Follow-ups go to ``audience="notified"`` (those a notice of this outage already reached);
  ``changed`` goes to ``"all"`` instead when no lead-time notice is still ahead for everyone
  else, replacing the notice that would have gone at the same time.

Times are computed in the configured zone and stored in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from outage_notify import registry
from outage_notify.models import Notice, NoticeKind, Outage
from outage_notify.settings import Settings

ALL, CRITICAL, NOTIFIED = "all", "critical", "notified"
AUDIENCES = (ALL, CRITICAL, NOTIFIED)
RESTORED_DEADLINE = timedelta(hours=12)
LEAD_KINDS = (NoticeKind.ADVANCE, NoticeKind.REMINDER)


@dataclass(frozen=True)
class PlannedNotice:
    """A notice before it is a row: what the rules decide for one revision."""

    kind: str
    audience: str
    due_at: datetime
    sms_due_at: datetime
    shifted_for_quiet_hours: bool
    urgent: bool
    deadline: datetime

    def row(self, outage_id: int, revision: int) -> Notice:
        return Notice(
            outage_id=outage_id,
            revision=revision,
            kind=self.kind,
            audience=self.audience,
            due_at=self.due_at,
            sms_due_at=self.sms_due_at,
            shifted_for_quiet_hours=self.shifted_for_quiet_hours,
            urgent=self.urgent,
            deadline=self.deadline,
        )


@dataclass(frozen=True)
class Clock:
    """What the rules read: now, the zone and the quiet hours."""

    now: datetime
    zone: ZoneInfo
    quiet: tuple[time, time] | None
    # How long sending this outage's SMS to everyone takes at sms.max_per_second: an SMS moved
    # before the quiet hours starts that much earlier, so the last one goes before they begin.
    sms_span: timedelta = timedelta(0)

    @classmethod
    def of(cls, settings: Settings, now: datetime, sms_span: timedelta = timedelta(0)) -> Clock:
        return cls(now.astimezone(UTC), settings.zone, settings.schedule.quiet_hours, sms_span)


def in_quiet_hours(moment: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> bool:
    """Whether an SMS may not go at ``moment``. The window's own edges are allowed: an SMS
    moved to the end of the quiet window must be sendable then."""
    if quiet is None:
        return False
    start, end = quiet
    local = moment.astimezone(zone).time()
    if start < end:
        return start < local < end
    return local > start or local < end


def quiet_period(
    moment: datetime, quiet: tuple[time, time], zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """The quiet window that contains ``moment`` (which must be inside one), start and end."""
    start, end = quiet
    local = moment.astimezone(zone)
    day = local.date()
    if start < end:
        first, last = day, day
    elif local.time() > start:
        first, last = day, day + timedelta(days=1)
    else:
        first, last = day - timedelta(days=1), day
    return (
        datetime.combine(first, start, tzinfo=zone).astimezone(UTC),
        datetime.combine(last, end, tzinfo=zone).astimezone(UTC),
    )


def next_quiet_start(
    moment: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo
) -> datetime | None:
    """When quiet hours next begin at or after ``moment`` (None without quiet hours)."""
    if quiet is None:
        return None
    local = moment.astimezone(zone)
    start = datetime.combine(local.date(), quiet[0], tzinfo=zone)
    if start < local:
        start = datetime.combine(local.date() + timedelta(days=1), quiet[0], tzinfo=zone)
    return start.astimezone(UTC)


def sms_time(due: datetime, *, before: datetime, clock: Clock) -> tuple[datetime, bool, bool]:
    """(when the SMS goes, shifted for quiet hours, urgent) for a notice due at ``due``.

    ``before`` is the moment the news must arrive by (the work start for upcoming work).
    """
    if clock.quiet is None or not in_quiet_hours(due, clock.quiet, clock.zone):
        return due, False, False
    quiet_start, quiet_end = quiet_period(due, clock.quiet, clock.zone)
    if quiet_start > clock.now:
        # Early enough for the whole fan-out, but not into the previous night, nor the past.
        earlier = max(quiet_start - clock.sms_span, quiet_end - timedelta(days=1), clock.now)
        return earlier, True, False
    if quiet_end < before:
        return quiet_end, True, False
    return clock.now, clock.now != due, True


def _notice(
    kind: str, audience: str, due: datetime, *, before: datetime, deadline: datetime, clock: Clock
) -> PlannedNotice:
    sms, shifted, urgent = sms_time(due, before=before, clock=clock)
    return PlannedNotice(kind, audience, due, sms, shifted, urgent, deadline)


def lead_time_notices(
    *, utility: str, start: datetime, settings: Settings, clock: Clock
) -> list[PlannedNotice]:
    """The advance and reminders for work starting at ``start``, critical-lead one first."""
    leads = settings.schedule.lead_times(utility)
    dues = [start - lead for lead in leads]
    wanted = ([clock.now] if any(d <= clock.now for d in dues) else []) + [
        d for d in dues if d > clock.now
    ]
    notices: list[PlannedNotice] = []
    for due in wanted:
        kind = NoticeKind.REMINDER if notices else NoticeKind.ADVANCE
        notice = _notice(kind, ALL, due, before=start, deadline=start, clock=clock)
        if notices and notice.sms_due_at <= notices[-1].sms_due_at:
            continue  # it would reach phones with the previous one: that one says it already
        notices.append(notice)
    critical_lead = settings.schedule.critical_lead
    if leads and critical_lead > leads[0]:
        due = max(start - critical_lead, clock.now)
        critical = _notice(
            NoticeKind.ADVANCE, CRITICAL, due, before=start, deadline=start, clock=clock
        )
        first = notices[0] if notices else None
        if first is None or (due < first.due_at and critical.sms_due_at < first.sms_due_at):
            notices.insert(0, critical)
    return notices


def sms_span(session: Session, outage: Outage, settings: Settings) -> timedelta:
    """How long one notice to everyone this outage affects takes by SMS, as of now: the
    slowest fan-out among the channels quiet hours apply to, each at its max_per_second.

    From counts, not the recipient list: planning an outage stays cheap however many it
    affects (and imports targeting's numpy and shapely only here, not for every command).
    """
    from outage_notify.planning.matching import count_recipients

    spans = [
        count_recipients(session, outage, spec.name) / spec.max_per_second(settings)
        for spec in registry.CHANNELS.values()
        if spec.quiet_hours_apply
    ]
    return timedelta(seconds=max(spans, default=0.0))


def plan_created(
    outage: Outage, *, settings: Settings, now: datetime, sms_span: timedelta = timedelta(0)
) -> list[PlannedNotice]:
    clock = Clock.of(settings, now, sms_span)
    return lead_time_notices(
        utility=outage.utility, start=outage.start_at, settings=settings, clock=clock
    )


def plan_rescheduled(
    outage: Outage,
    *,
    settings: Settings,
    now: datetime,
    anyone_notified: bool,
    sms_span: timedelta = timedelta(0),
) -> list[PlannedNotice]:
    """``changed`` now, and the lead-time notices for the new times.

    ``changed`` goes to those already notified while the advance is still ahead for everyone
    else. When a lead-time notice would go now (or no later than ``changed`` by SMS),
    ``changed`` goes to everyone instead and takes its place, so nobody gets two at once.
    """
    clock = Clock.of(settings, now, sms_span)
    start = outage.start_at
    changed = _notice(
        NoticeKind.CHANGED, NOTIFIED, clock.now, before=start, deadline=start, clock=clock
    )
    lead = lead_time_notices(utility=outage.utility, start=start, settings=settings, clock=clock)
    everyone = [n for n in lead if n.audience == ALL]
    absorbed = [n for n in everyone if n.sms_due_at <= changed.sms_due_at or n.due_at <= now]
    if absorbed or not everyone:
        changed = replace(changed, audience=ALL)
    rest = [n for n in everyone if n not in absorbed]
    if changed.audience == ALL:
        rest = [replace(n, kind=NoticeKind.REMINDER) for n in rest]
    critical = [
        n
        for n in lead
        if n.audience == CRITICAL
        # Critical customers already notified, or everyone, hear of the change just now.
        and not (
            (changed.audience == ALL or anyone_notified) and n.sms_due_at <= changed.sms_due_at
        )
    ]
    return [changed, *critical, *rest]


def plan_extended(
    outage: Outage, *, settings: Settings, now: datetime, audience: str = NOTIFIED
) -> list[PlannedNotice]:
    clock = Clock.of(settings, now)
    end = outage.end_at
    return [
        _notice(NoticeKind.EXTENDED, audience, clock.now, before=end, deadline=end, clock=clock)
    ]


def plan_cancelled(
    *, old_start: datetime, old_end: datetime, settings: Settings, now: datetime
) -> list[PlannedNotice]:
    clock = Clock.of(settings, now)
    return [
        _notice(
            NoticeKind.CANCELLED,
            NOTIFIED,
            clock.now,
            before=old_start,
            deadline=old_end,
            clock=clock,
        )
    ]


def plan_restored(*, settings: Settings, now: datetime) -> list[PlannedNotice]:
    clock = Clock.of(settings, now)
    deadline = clock.now + RESTORED_DEADLINE
    return [
        _notice(
            NoticeKind.RESTORED,
            NOTIFIED,
            clock.now,
            before=deadline,
            deadline=deadline,
            clock=clock,
        )
    ]


def add_notices(session: Session, outage: Outage, planned: Iterable[PlannedNotice]) -> list[Notice]:
    """Write the planned notices as rows of the outage's current revision."""
    assert outage.id is not None
    rows = [notice.row(outage.id, outage.revision) for notice in planned]
    session.add_all(rows)
    session.flush()
    return rows
