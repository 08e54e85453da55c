"""The website banner: which outages a utility's site should show now, and the embed script.

A leaf module. ``banner_document`` is what ``/banner.json`` serves; ``BANNER_JS`` is
``static/banner.js``, the dependency-free script a site embeds with one tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from channels.feeds import FeedOutage

# Work starting within this window is announced on the banner.
SHOWN_AHEAD = timedelta(hours=72)
# "Service restored" stays up this long after the restoration.
RESTORED_SHOWN_FOR = timedelta(hours=12)

BANNER_JS: bytes = resources.files("channels").joinpath("static/banner.js").read_bytes()


def shown_from(outage: FeedOutage) -> datetime:
    if outage.status == "restored" and outage.restored_at is not None:
        return outage.restored_at
    return outage.start - SHOWN_AHEAD


def shown_until(outage: FeedOutage) -> datetime:
    if outage.status == "restored" and outage.restored_at is not None:
        return outage.restored_at + RESTORED_SHOWN_FOR
    # A cancelled one stays up over its planned window: people who heard of it learn it is off.
    return outage.end


def on_banner(outage: FeedOutage, now: datetime) -> bool:
    return shown_from(outage) <= now < shown_until(outage)


def is_active(outage: FeedOutage, now: datetime) -> bool:
    return outage.status == "planned" and outage.start <= now < outage.end


def banner_item(outage: FeedOutage, now: datetime) -> dict[str, Any]:
    return {
        "id": outage.id,
        "revision": outage.revision,
        "state": outage.state,
        "utility": outage.utility,
        "title": outage.title,
        "text": {t.language: t.line for t in outage.texts},
        "start": outage.start.isoformat(),
        "end": outage.end.isoformat(),
        "url": outage.url,
        "areas": [area.code for area in outage.areas],
        "active": is_active(outage, now),
        "show_from": shown_from(outage).isoformat(),
        "show_until": shown_until(outage).isoformat(),
    }


def banner_document(
    outages: Iterable[FeedOutage],
    *,
    now: datetime,
    area: str | None,
    hotline: str,
    default_language: str,
    ahead_of_time: bool = False,
) -> dict[str, Any]:
    """What a banner for ``area`` (None: every area) shows at ``now``, active ones first.

    ``ahead_of_time`` also keeps outages not yet due on the banner: a static export carries
    them, and the script shows each between its ``show_from`` and ``show_until``.
    """
    chosen = [
        o
        for o in outages
        if (area is None or any(a.code == area for a in o.areas))
        and (on_banner(o, now) or (ahead_of_time and now < shown_until(o)))
    ]
    chosen.sort(key=lambda o: (not is_active(o, now), o.start, o.id))
    return {
        "area": area,
        "hotline": hotline,
        "default_language": default_language,
        "outages": [banner_item(o, now) for o in chosen],
    }
