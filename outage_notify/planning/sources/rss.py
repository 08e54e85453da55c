"""RSS and Atom feeds (read by feedparser) to :class:`MappedEntry` values.

The mapping (docs/sources.md): the entry's id or guid is the key; title and summary are the
title and description; ``ev:startdate`` / ``ev:enddate`` (the RSS 1.0 Event module, which
feedparser exposes as ``ev_startdate`` / ``ev_enddate``) are the times; GeoRSS
(``georss:polygon``, ``georss:point`` or ``georss:where`` with GML, feedparser's ``where``)
is the place; categories name area codes, the utility (``water``, ``gas``) and a
cancellation (``cancelled``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from outage_notify.planning.sources.entries import (
    CANCEL_WORDS,
    MappedEntry,
    merge_polygons,
    parse_time,
    plain_text,
    polygon_of,
)
from outage_notify.planning.sources.fetch import FeedError
from outage_notify.states import UTILITIES

# feedparser's own notes that do not make a document unreadable.
_HARMLESS = (feedparser.CharacterEncodingOverride,)


def parse_feed(body: bytes, *, zone: ZoneInfo, expected: str) -> list[MappedEntry]:
    """The entries of an RSS or Atom document; FeedError when it is neither, or broken."""
    # Bytes, never a URL: feedparser would fetch it itself, without a timeout.
    parsed = feedparser.parse(body)
    version = str(parsed.get("version") or "")
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS):
        problem = str(parsed.get("bozo_exception") or "unreadable").strip()
        if not version or body.lstrip()[:1] != b"<" or _looks_like_html(body):
            raise FeedError(f"not an RSS or Atom feed ({_what(body)})")
        raise FeedError(f"the feed is not well-formed XML: {problem}")
    if not version:
        raise FeedError(f"not an RSS or Atom feed ({_what(body)})")
    family = "atom" if version.startswith("atom") else "rss"
    if family != expected:
        raise FeedError(f"the source is registered as {expected} but the feed is {version}")
    return [_entry(e, zone) for e in parsed.entries]


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lower()
    return b"<html" in head or b"<!doctype html" in head


def _what(body: bytes) -> str:
    if not body.strip():
        return "the body is empty"
    if _looks_like_html(body):
        return "it is an HTML page"
    return f"it starts {body[:40].decode('utf-8', 'replace')!r}"


def _entry(entry: Any, zone: ZoneInfo) -> MappedEntry:
    key = str(entry.get("id") or entry.get("link") or "").strip()
    problems: list[str] = []
    start, problem = parse_time(entry.get("ev_startdate"), zone, "ev:startdate")
    problems += [problem] if problem else []
    end, problem = parse_time(entry.get("ev_enddate"), zone, "ev:enddate")
    problems += [problem] if problem else []
    terms = [str(t.get("term") or "").strip() for t in entry.get("tags") or []]
    terms = [t for t in terms if t]
    utilities = [t.lower() for t in terms if t.lower() in UTILITIES]
    if len(set(utilities)) > 1:
        problems.append("categories name both water and gas")
    words = {t.lower() for t in terms}
    codes = tuple(t for t in terms if t.lower() not in UTILITIES and t.lower() not in CANCEL_WORDS)
    geometry, point = _place(entry.get("where"))
    return MappedEntry(
        key=key,
        title=plain_text(entry.get("title")),
        description=plain_text(entry.get("summary")),
        start=start,
        end=end,
        utility=utilities[0] if len(set(utilities)) == 1 else None,
        area_codes=codes,
        geometry=geometry,
        point=point,
        cancelled=bool(words & CANCEL_WORDS),
        problems=tuple(problems),
    )


def _place(where: Any) -> tuple[dict[str, Any] | None, tuple[float, float] | None]:
    """feedparser's GeoRSS ``where`` (coordinates already lon, lat) as a polygon or a point."""
    if not where:
        return None, None
    kind, coordinates = where.get("type"), where.get("coordinates")
    if kind == "Point" and coordinates:
        return None, (float(coordinates[0]), float(coordinates[1]))
    if kind == "Polygon" and coordinates:
        return polygon_of([list(ring) for ring in coordinates]), None
    if kind == "MultiPolygon" and coordinates:
        polygons = [polygon_of([list(r) for r in p]) for p in coordinates]
        return merge_polygons([p for p in polygons if p]), None
    return None, None
