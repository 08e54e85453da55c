"""Times from planners: ISO 8601, read in the configured zone when they carry no offset.

Every ``--start``, ``--end`` and ``--now`` goes through :func:`parse_time`, and so do the
times in an outages CSV; the result is always an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

EXAMPLE = "2026-12-01T08:00"
# The planning window: the one rule for which times an outage may have. Work-management systems
# write 9999-12-31 for "open end" and 0001-01-01 for "unknown"; neither is a shutoff anyone can
# be told about, and both overflow the arithmetic of the feeds, so they are refused at the door.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
HORIZON = timedelta(days=5 * 365)
HORIZON_TEXT = "5 years"
WINDOW_TEXT = f"the planning window is {EARLIEST.year} to {HORIZON_TEXT} ahead"
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def parse_time(value: str, zone: ZoneInfo, *, name: str = "time") -> datetime:
    """``2026-12-01T08:00`` (local to ``zone``) or ``2026-12-01T00:00Z`` -> aware UTC.

    Raises ValueError with a message that names ``name`` and shows the expected form.
    """
    text = value.strip()
    if not text:
        raise ValueError(f"{name} is empty; expected a time such as {EXAMPLE}")
    if _DATE_ONLY.fullmatch(text):
        # fromisoformat would read a bare date as midnight, which is rarely what was meant.
        raise ValueError(f"{name} {value!r} has no time of day; write it as {text}T08:00")
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise ValueError(
            f"{name} {value!r} is not an ISO 8601 time; expected e.g. {EXAMPLE} "
            f"(local) or {EXAMPLE}+08:00"
        ) from None
    try:
        if parsed.tzinfo is None:
            parsed = _localize(parsed, zone, name=name, value=value)
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        # 0001-01-01 or 9999-12-31 pushed off the calendar by a time zone.
        raise ValueError(f"{name} {value!r} is off the calendar ({WINDOW_TEXT})") from None
    if parsed < EARLIEST:
        raise ValueError(f"{name} {value!r} is before {EARLIEST.year} ({WINDOW_TEXT})")
    return parsed


def outside_window(value: datetime, *, now: datetime, name: str) -> str | None:
    """Why ``value`` is outside the planning window (None: it is inside).

    Subtracting datetimes cannot overflow, so this holds for 9999-12-31 too.
    """
    if value < EARLIEST:
        return f"{name} {value:%Y-%m-%d %H:%M} UTC is before {EARLIEST.year} ({WINDOW_TEXT})"
    if value - now > HORIZON:
        return (
            f"{name} {value:%Y-%m-%d %H:%M} UTC is more than {HORIZON_TEXT} ahead ({WINDOW_TEXT}): "
            "an open end such as 9999-12-31, or a typo? Plan the end you expect; extend it later"
        )
    return None


def _localize(naive: datetime, zone: ZoneInfo, *, name: str, value: str) -> datetime:
    local = naive.replace(tzinfo=zone)
    # A wall time skipped by a daylight-saving change does not survive the round trip.
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{name} {value!r} does not exist in {zone.key} (a clock change)")
    return local


def local(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(zone)


def format_local(value: datetime, zone: ZoneInfo) -> str:
    """``2026-12-01 08:00 +08:00``: what planners read in tables and messages."""
    shown = value.astimezone(zone)
    offset = shown.strftime("%z")
    return f"{shown:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def iso_local(value: datetime | None, zone: ZoneInfo) -> str | None:
    """ISO 8601 in local time with its offset, for JSON output."""
    return None if value is None else value.astimezone(zone).isoformat()
