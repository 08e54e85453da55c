"""The public site's pages as data: the index's sections and feed links, an outage's page.

The web app renders them per request (``web/pages.py``); the export renders them once into
files (``publishing/export.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from channels.feeds import FeedOutage
from outage_notify.notices.collation import reading_key
from outage_notify.notices.public import utc_offset
from outage_notify.publishing.areamap import area_map
from outage_notify.publishing.documents import feed_query
from outage_notify.publishing.publication import OutageFilter
from outage_notify.settings import Settings


def sections(outages: Sequence[FeedOutage], now: datetime) -> list[tuple[str, list[FeedOutage]]]:
    """Under way now, upcoming (soonest first), and the rest (most recently ended first)."""
    # One pass: a membership test on the other lists compared dataclasses field by field,
    # quadratic (35 s for 5,000 outages).
    parts: dict[str, list[FeedOutage]] = {"current": [], "upcoming": [], "recent": []}
    for outage in outages:
        if outage.status == "planned" and outage.start <= now < outage.end:
            parts["current"].append(outage)
        elif outage.status == "planned" and now < outage.start:
            parts["upcoming"].append(outage)
        else:
            parts["recent"].append(outage)
    parts["recent"].sort(key=lambda o: (o.ended_at, o.id), reverse=True)
    return list(parts.items())


def feed_links(settings: Settings, outage_filter: OutageFilter, language: str) -> dict[str, str]:
    """Links to the feeds with the page's filter, in the page's language."""
    query = feed_query(outage_filter, language if language != settings.default_language else None)
    suffix = f"?{query}" if query else ""
    base = settings.public_url
    webcal = "webcal://" + base.split("://", 1)[1]
    return {
        "rss": f"{base}/feeds/outages.rss{suffix}",
        "atom": f"{base}/feeds/outages.atom{suffix}",
        "ics": f"{base}/feeds/outages.ics{suffix}",
        "webcal": f"{webcal}/feeds/outages.ics{suffix}",
        "cap": f"{base}/feeds/cap.atom{suffix}",
    }


def index_context(
    settings: Settings,
    snapshot_outages: Sequence[FeedOutage],
    areas: Any,
    outage_filter: OutageFilter,
    language: str,
    now: datetime,
) -> dict[str, Any]:
    # Water areas, then gas, each in the order people read names (pinyin for zh-CN).
    ordered = sorted(
        areas, key=lambda a: (a.utility != "water", reading_key(a.label(language), language))
    )
    return {
        "sections": sections(outage_filter.apply(snapshot_outages), now),
        "areas": ordered,
        "outage_filter": outage_filter,
        "feed_links": feed_links(settings, outage_filter, language),
        "offset": utc_offset(now.astimezone(settings.zone)),
        "now": now,
    }


def outage_context(
    settings: Settings,
    outage: FeedOutage,
    language: str,
    now: datetime,
    known_areas: Collection[str],
) -> dict[str, Any]:
    # Feeds of this outage's areas (an area since removed would make the link a 400).
    areas = tuple(a.code for a in outage.areas if a.code in known_areas)
    return {
        "outage": outage,
        "reason": outage.history[-1].reason,
        "area_map": area_map(outage.areas, outage.text(language).area_names),
        "feed_links": feed_links(settings, OutageFilter(areas=areas), language),
        "cap_url": f"{settings.public_url}/cap/{outage.id}-{outage.revision}.xml",
        "offset": utc_offset(outage.start),
        "now": now,
    }
