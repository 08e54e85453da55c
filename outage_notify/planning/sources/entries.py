"""An upstream entry as the mapping reads it: what the rss and cap modules produce and the
apply module turns into an outage. Nothing here touches the database."""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

CANCEL_WORDS = frozenset({"cancelled", "canceled"})
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")


@dataclass(frozen=True)
class MappedEntry:
    """One entry. ``key`` ties versions together (an RSS guid, an Atom id; for CAP the
    identifier, with ``references`` naming the alerts it updates)."""

    key: str
    title: str = ""
    description: str = ""
    start: datetime | None = None
    end: datetime | None = None
    utility: str | None = None
    area_codes: tuple[str, ...] = ()  # codes the entry names (categories, CAP geocodes)
    geometry: dict[str, Any] | None = None  # GeoJSON Polygon / MultiPolygon, lon/lat
    point: tuple[float, float] | None = None  # lon, lat
    cancelled: bool = False
    references: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())  # what could not be read, for the reason

    def fields_hash(self) -> str:
        """A digest of everything mapped: an unchanged entry changes nothing."""
        data = asdict(self)
        for name in ("key", "references"):  # which version it is, not what it says
            data.pop(name)
        text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def plain_text(value: str | None) -> str:
    """A feed's (possibly HTML) text as plain text: tags dropped, entities decoded."""
    if not value:
        return ""
    text = html.unescape(_TAG.sub(" ", value))
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def parse_time(value: str | None, zone: ZoneInfo, what: str) -> tuple[datetime | None, str | None]:
    """An ISO 8601 time (naive ones in the planners' zone) and, when unreadable, why."""
    if value is None or not value.strip():
        return None, None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{what} {value.strip()!r} is not an ISO 8601 time"
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)), None


def polygon_of(rings: list[list[tuple[float, float]]]) -> dict[str, Any] | None:
    """A GeoJSON Polygon from (lon, lat) rings, closed; None when the outer ring is too short."""
    closed = []
    for ring in rings:
        points = [[float(lon), float(lat)] for lon, lat in ring]
        if points and points[0] != points[-1]:
            points.append(points[0])
        closed.append(points)
    if not closed or len(closed[0]) < 4:
        return None
    return {"type": "Polygon", "coordinates": closed}


def merge_polygons(polygons: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not polygons:
        return None
    if len(polygons) == 1:
        return polygons[0]
    return {"type": "MultiPolygon", "coordinates": [p["coordinates"] for p in polygons]}
