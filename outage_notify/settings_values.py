"""The kinds of value config keys take: durations, time ranges, URLs.

Each parser raises ValueError with a message that the settings loader prefixes with the key.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """``"72h"``, ``"90m"``, ``"1h30m"``, ``"7d"`` -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as '24h', got {value!r}")
    text = value.strip().lower()
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"expected a duration such as '24h', '90m' or '1h30m', got {value!r}")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def parse_quiet_hours(value: object) -> tuple[time, time] | None:
    """``"21:00-08:00"`` -> (21:00, 08:00); an empty string means no quiet hours."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1]
    if not isinstance(value, str):
        raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
    if not value.strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not match:
        raise ValueError(f"expected 'HH:MM-HH:MM' such as '21:00-08:00', got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid time range: {exc}") from None
    if start == end:
        raise ValueError(f"{value!r} starts and ends at the same time; use '' for none")
    return start, end


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveFloat = Annotated[float, Field(gt=0)]


def check_http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value
