"""The timeline rules with an injected clock, in Asia/Shanghai (UTC+8), quiet 21:00-08:00."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from outage_notify.models import Outage
from outage_notify.planning import timeline
from outage_notify.planning.timeline import Clock, PlannedNotice
from outage_notify.settings import Settings

ZONE = ZoneInfo("Asia/Shanghai")
DEFAULT = Settings()


def at(text: str) -> datetime:
    """Local wall time in Shanghai -> aware UTC: ``at("12-10 06:00")`` (year 2026)."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


def local(value: datetime) -> str:
    return value.astimezone(ZONE).strftime("%m-%d %H:%M")


def settings(**schedule: Any) -> Settings:
    return Settings.model_validate({"schedule": schedule})


def outage(start: str, end: str | None = None, utility: str = "water") -> Outage:
    start_at = at(start)
    end_at = at(end) if end else start_at + timedelta(hours=4)
    return Outage(
        id=1, utility=utility, title="t", start_at=start_at, end_at=end_at, area_codes=["W01"]
    )


def summary(notices: list[PlannedNotice]) -> list[tuple[Any, ...]]:
    """(kind, audience, due, sms, shifted, urgent) with times as local 'MM-DD HH:MM'."""
    return [
        (
            n.kind,
            n.audience,
            local(n.due_at),
            local(n.sms_due_at),
            n.shifted_for_quiet_hours,
            n.urgent,
        )
        for n in notices
    ]


def created(start: str, now: str, config: Settings = DEFAULT, utility: str = "water") -> list[Any]:
    return summary(
        timeline.plan_created(outage(start, utility=utility), settings=config, now=at(now))
    )


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        ("12-10 21:00", False),  # the window's edges are allowed
        ("12-10 21:01", True),
        ("12-10 23:59", True),
        ("12-11 00:00", True),
        ("12-11 07:59", True),
        ("12-11 08:00", False),
        ("12-11 12:00", False),
    ],
)
def test_quiet_hours_across_midnight(moment: str, quiet: bool) -> None:
    assert timeline.in_quiet_hours(at(moment), (time(21), time(8)), ZONE) is quiet


def test_quiet_hours_within_a_day() -> None:
    window = (time(12), time(14))
    assert timeline.in_quiet_hours(at("12-10 13:00"), window, ZONE)
    assert not timeline.in_quiet_hours(at("12-10 11:00"), window, ZONE)
    assert not timeline.in_quiet_hours(at("12-10 15:00"), window, ZONE)
    assert not timeline.in_quiet_hours(at("12-10 13:00"), None, ZONE)


def test_early_planning_gets_every_lead_time_and_the_critical_one() -> None:
    assert created("12-10 10:00", now="12-01 09:00") == [
        ("advance", "critical", "12-03 10:00", "12-03 10:00", False, False),
        ("advance", "all", "12-07 10:00", "12-07 10:00", False, False),
        ("reminder", "all", "12-09 10:00", "12-09 10:00", False, False),
        ("reminder", "all", "12-10 08:00", "12-10 08:00", False, False),
    ]


def test_deadline_of_upcoming_notices_is_the_start() -> None:
    notices = timeline.plan_created(outage("12-10 10:00"), settings=DEFAULT, now=at("12-01 09:00"))
    assert {n.deadline for n in notices} == {at("12-10 10:00")}


def test_sms_in_quiet_hours_moves_to_the_previous_evening() -> None:
    # Work at 06:00: the 2h reminder would be 04:00, inside quiet hours.
    notices = created("12-10 06:00", now="12-01 09:00")
    assert notices[-1] == ("reminder", "all", "12-10 04:00", "12-09 21:00", True, False)


def test_sms_moved_before_the_quiet_hours_leaves_time_for_the_whole_fan_out() -> None:
    # 900 numbers at 1 a second take 15 minutes: the evening SMS starts at 20:45, not 21:00,
    # so the last one goes before the quiet hours begin.
    notices = timeline.plan_created(
        outage("12-10 06:00"),
        settings=DEFAULT,
        now=at("12-01 09:00"),
        sms_span=timedelta(minutes=15),
    )
    assert summary(notices)[-1] == ("reminder", "all", "12-10 04:00", "12-09 20:45", True, False)
    # Never earlier than now, nor into the night before.
    late = timeline.plan_created(
        outage("12-10 06:00"),
        settings=DEFAULT,
        now=at("12-09 20:50"),
        sms_span=timedelta(minutes=15),
    )
    assert summary(late)[-1][3] == "12-09 20:50"
    huge = timeline.plan_created(
        outage("12-10 06:00"), settings=DEFAULT, now=at("12-01 09:00"), sms_span=timedelta(days=2)
    )
    assert summary(huge)[-1][3] == "12-09 08:00"


def test_sms_moves_to_the_morning_when_the_evening_is_past() -> None:
    # Planned at 22:00 for noon: the immediate notice's SMS waits for 08:00, email goes now.
    assert created("12-10 12:00", now="12-09 22:00") == [
        ("advance", "all", "12-09 22:00", "12-10 08:00", True, False),
        ("reminder", "all", "12-10 10:00", "12-10 10:00", False, False),
    ]


def test_sms_goes_now_flagged_urgent_when_morning_is_too_late() -> None:
    # Planned at 23:00 for 07:00: neither 21:00 (past) nor 08:00 (after the start) will do.
    # The 2h reminder (05:00) would go at the same moment, so it merges into the first.
    assert created("12-10 07:00", now="12-09 23:00") == [
        ("advance", "all", "12-09 23:00", "12-09 23:00", False, True),
    ]


def test_future_notice_that_cannot_respect_quiet_hours_goes_now() -> None:
    # Lead time 1h only, planned at 22:00 for 23:30: due 22:30 in quiet hours, too late for
    # 21:00 and 08:00 -> the SMS goes now (urgent); the email still at 22:30.
    config = settings(water=["1h"], critical_lead="2h")
    assert created("12-10 23:30", now="12-10 22:00", config=config) == [
        ("advance", "all", "12-10 22:30", "12-10 22:00", True, True),
    ]


def test_sms_moved_to_the_morning_absorbs_a_reminder_at_the_same_time() -> None:
    # Immediate SMS moved to 08:00; the 2h reminder for 10:00 work is due 08:00 too.
    assert created("12-10 10:00", now="12-09 22:00") == [
        ("advance", "all", "12-09 22:00", "12-10 08:00", True, False),
    ]


@pytest.mark.parametrize(
    ("start", "now", "expected"),
    [
        # 72h past: one immediate notice, then the 24h and 2h reminders.
        ("12-10 10:00", "12-09 04:00", ["12-09 04:00", "12-09 10:00", "12-10 08:00"]),
        # 72h and 24h past: still one immediate notice, then the 2h reminder.
        ("12-10 12:00", "12-09 20:00", ["12-09 20:00", "12-10 10:00"]),
        # every lead time past: one immediate notice only.
        ("12-10 12:00", "12-10 11:00", ["12-10 11:00"]),
    ],
)
def test_late_planning_collapses_past_lead_times_into_one_notice(
    start: str, now: str, expected: list[str]
) -> None:
    notices = created(start, now)
    assert [n[2] for n in notices] == expected
    assert [n[0] for n in notices] == ["advance"] + ["reminder"] * (len(expected) - 1)
    assert {n[1] for n in notices} == {"all"}


def test_critical_lead_past_is_due_now_while_the_advance_is_ahead() -> None:
    assert created("12-10 10:00", now="12-06 10:00")[:2] == [
        ("advance", "critical", "12-06 10:00", "12-06 10:00", False, False),
        ("advance", "all", "12-07 10:00", "12-07 10:00", False, False),
    ]


def test_critical_notice_is_dropped_when_everyone_is_told_at_once() -> None:
    notices = created("12-10 10:00", now="12-08 10:00")
    assert [(n[0], n[1]) for n in notices] == [
        ("advance", "all"),
        ("reminder", "all"),
        ("reminder", "all"),
    ]


def test_no_critical_notice_when_critical_lead_is_not_earlier() -> None:
    notices = created("12-10 10:00", now="12-01 10:00", config=settings(critical_lead="72h"))
    assert "critical" not in {n[1] for n in notices}


def test_gas_uses_its_own_lead_times() -> None:
    notices = created("12-10 10:00", now="12-01 10:00", utility="gas")
    assert [n[2] for n in notices] == ["12-03 10:00", "12-08 10:00", "12-10 08:00"]


def test_without_quiet_hours_nothing_moves() -> None:
    notices = created("12-10 06:00", now="12-01 09:00", config=settings(quiet_hours=""))
    assert all(n[2] == n[3] and not n[4] for n in notices)


def test_quiet_hours_within_a_day_move_an_sms() -> None:
    config = settings(quiet_hours="12:00-14:00", water=["24h"], critical_lead="48h")
    notices = created("12-10 13:00", now="12-01 09:00", config=config)
    assert notices[-1] == ("advance", "all", "12-09 13:00", "12-09 12:00", True, False)


def test_sms_time_returns_the_moment_for_the_rules() -> None:
    clock = Clock(now=at("12-09 23:00"), zone=ZONE, quiet=(time(21), time(8)))
    assert timeline.sms_time(at("12-10 12:00"), before=at("12-10 13:00"), clock=clock) == (
        at("12-10 12:00"),
        False,
        False,
    )
    assert timeline.sms_time(at("12-10 03:00"), before=at("12-10 13:00"), clock=clock) == (
        at("12-10 08:00"),
        True,
        False,
    )
    assert timeline.sms_time(at("12-11 03:00"), before=at("12-11 13:00"), clock=clock) == (
        at("12-10 21:00"),
        True,
        False,
    )


# Follow-ups ---------------------------------------------------------------------------


def rescheduled(start: str, now: str, notified: bool = False) -> list[Any]:
    planned = timeline.plan_rescheduled(
        outage(start), settings=DEFAULT, now=at(now), anyone_notified=notified
    )
    return summary(planned)


def test_reschedule_with_the_advance_ahead_tells_the_notified_now() -> None:
    assert rescheduled("12-20 10:00", now="12-08 10:00") == [
        ("changed", "notified", "12-08 10:00", "12-08 10:00", False, False),
        ("advance", "critical", "12-13 10:00", "12-13 10:00", False, False),
        ("advance", "all", "12-17 10:00", "12-17 10:00", False, False),
        ("reminder", "all", "12-19 10:00", "12-19 10:00", False, False),
        ("reminder", "all", "12-20 08:00", "12-20 08:00", False, False),
    ]


def test_reschedule_inside_the_first_lead_time_tells_everyone_at_once() -> None:
    # New start 30h ahead: the 72h advance would be now, so "changed" goes to all instead.
    assert rescheduled("12-10 10:00", now="12-09 04:00") == [
        ("changed", "all", "12-09 04:00", "12-09 08:00", True, False),
        ("reminder", "all", "12-09 10:00", "12-09 10:00", False, False),
        ("reminder", "all", "12-10 08:00", "12-10 08:00", False, False),
    ]


@pytest.mark.parametrize(("notified", "critical_kept"), [(False, True), (True, False)])
def test_reschedule_keeps_an_immediate_critical_notice_only_for_the_unnotified(
    notified: bool, critical_kept: bool
) -> None:
    # New start 100h ahead: the critical lead (168h) is past, the 72h advance is ahead.
    notices = rescheduled("12-10 14:00", now="12-06 10:00", notified=notified)
    assert notices[0][:2] == ("changed", "notified")
    assert (("advance", "critical") in [n[:2] for n in notices]) is critical_kept


def test_follow_ups_go_to_the_notified_with_their_deadlines() -> None:
    planned = outage("12-10 10:00", "12-10 14:00")
    (extended,) = timeline.plan_extended(planned, settings=DEFAULT, now=at("12-10 12:00"))
    assert (extended.kind, extended.audience, extended.deadline) == (
        "extended",
        "notified",
        at("12-10 14:00"),
    )
    (cancelled,) = timeline.plan_cancelled(
        old_start=at("12-10 10:00"),
        old_end=at("12-10 14:00"),
        settings=DEFAULT,
        now=at("12-09 12:00"),
    )
    assert (cancelled.kind, cancelled.audience, cancelled.deadline) == (
        "cancelled",
        "notified",
        at("12-10 14:00"),
    )
    (restored,) = timeline.plan_restored(settings=DEFAULT, now=at("12-10 13:00"))
    assert (restored.kind, restored.audience, restored.deadline) == (
        "restored",
        "notified",
        at("12-11 01:00"),
    )


def test_restored_at_night_is_told_in_the_morning() -> None:
    (restored,) = timeline.plan_restored(settings=DEFAULT, now=at("12-10 23:30"))
    assert (local(restored.due_at), local(restored.sms_due_at)) == ("12-10 23:30", "12-11 08:00")
    assert not restored.urgent


def test_cancelled_at_night_before_early_work_is_urgent() -> None:
    (cancelled,) = timeline.plan_cancelled(
        old_start=at("12-11 07:00"),
        old_end=at("12-11 12:00"),
        settings=DEFAULT,
        now=at("12-10 23:00"),
    )
    assert (local(cancelled.sms_due_at), cancelled.urgent) == ("12-10 23:00", True)
