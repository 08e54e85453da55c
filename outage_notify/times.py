"""Times from planners: ISO 8601, read in the configured zone when they carry no offset.

Every ``--start``, ``--end`` and ``--now`` goes through :func:`parse_time`, and so do the
times in an outages CSV; the result is always an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EXAMPLE = "2026-12-01T08:00"
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
    if parsed.tzinfo is None:
        parsed = _localize(parsed, zone, name=name, value=value)
    return parsed.astimezone(UTC)


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
