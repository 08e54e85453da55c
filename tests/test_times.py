from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outage_notify.times import HORIZON, format_local, iso_local, outside_window, parse_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T08:00", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2026-12-01 08:00", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2026-12-01T08:00:30", datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)),
        (" 2026-12-01T08:00 ", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2026-12-01T08:00+08:00", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2026-12-01T08:00Z", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-01T08:00-05:00", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_times_without_offset_are_local(text: str, expected: datetime) -> None:
    parsed = parse_time(text, SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--start is empty"),
        ("tomorrow", "--start 'tomorrow' is not an ISO 8601 time"),
        ("2026-13-01T08:00", "is not an ISO 8601 time"),
        ("2026-12-01", "--start '2026-12-01' has no time of day; write it as 2026-12-01T08:00"),
        ("20261201", "has no time of day"),
    ],
)
def test_bad_times_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time(text, SHANGHAI, name="--start")
    assert message in str(caught.value)


def test_a_wall_time_skipped_by_a_clock_change_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist in Europe/Berlin"):
        parse_time("2026-03-29T02:30", ZoneInfo("Europe/Berlin"))
    assert parse_time("2026-03-29T03:30", ZoneInfo("Europe/Berlin")).hour == 1


def test_formats_for_people_and_json() -> None:
    moment = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert format_local(moment, SHANGHAI) == "2026-12-01 08:00 +08:00"
    assert iso_local(moment, SHANGHAI) == "2026-12-01T08:00:00+08:00"
    assert iso_local(None, SHANGHAI) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0001-01-01T00:00", "--end '0001-01-01T00:00' is off the calendar"),
        ("9999-12-31T23:59-05:00", "is off the calendar (the planning window is 1970"),
        ("1969-12-31T23:59Z", "--end '1969-12-31T23:59Z' is before 1970"),
        ("0001-01-01T00:00Z", "is before 1970"),
    ],
)
def test_times_off_the_calendar_or_before_1970_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time(text, SHANGHAI, name="--end")
    assert message in str(caught.value)


NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "outside"),
    [
        (NOW, False),
        (NOW + HORIZON, False),
        (NOW + HORIZON + timedelta(minutes=1), True),
        (datetime.max.replace(tzinfo=UTC), True),
        (datetime(1970, 1, 1, tzinfo=UTC), False),
        (datetime(1969, 12, 31, 23, 59, tzinfo=UTC), True),
    ],
)
def test_the_planning_window_is_one_rule(value: datetime, outside: bool) -> None:
    reason = outside_window(value, now=NOW, name="end")
    assert (reason is not None) == outside
    if reason:
        assert reason.startswith("end ")
