"""``FeedOutage`` values built directly, for the channel tests (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from channels.feeds import FeedArea, FeedInfo, FeedOutage, FeedRevision, FeedText, Shape

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
HOSTILE = "<script>alert(1)</script> ]]> &amp; 🚰💧 \u200fمرحبا\u200e <b>bold</b>"


def square(lon: float, lat: float, size: float = 0.01) -> Shape:
    ring = ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))
    return (ring,)


def text(
    language: str, title: str, summary: str, names: tuple[str, ...], state: str = "PLANNED"
) -> FeedText:
    return FeedText(
        language=language,
        title=f"{state}: {title}",
        summary=summary,
        line=summary.split("\n")[0],
        event="Planned water shutoff" if language == "en" else "计划停水",
        headline=f"Planned water shutoff: {title}",
        instruction="Store water.",
        sender_name="City Water" if language == "en" else "城市供水",
        when="Tue 1 Dec 08:00-12:00",
        area_names=names,
    )


def outage(
    *,
    id: int = 7,
    revision: int = 1,
    status: str = "planned",
    state: str | None = None,
    utility: str = "water",
    title: str = "Main replacement",
    summary: str = "When: Tue 1 Dec\nHotline: 12319",
    start: datetime = NOW + timedelta(days=2),
    hours: float = 4,
    areas: tuple[FeedArea, ...] = (FeedArea("A1", (square(121.47, 31.23),)),),
    restored_at: datetime | None = None,
) -> FeedOutage:
    created = NOW - timedelta(days=3)
    history = tuple(
        FeedRevision(
            revision=n,
            change="created" if n == 1 else "rescheduled",
            status="planned",
            start=start,
            end=start + timedelta(hours=hours),
            sent=created + timedelta(hours=n - 1),
        )
        for n in range(1, revision + 1)
    )
    if status != "planned":
        history = (*history[:-1], replace(history[-1], status=status, change=status))
    names = tuple(f"{a.code} district" for a in areas)
    state = state or {"cancelled": "CANCELLED", "restored": "RESTORED"}.get(
        status, "PLANNED" if revision == 1 else "CHANGED"
    )
    return FeedOutage(
        id=id,
        revision=revision,
        state=state,
        status=status,
        utility=utility,
        title=title,
        description="",
        start=start,
        end=start + timedelta(hours=hours),
        created=created,
        updated=history[-1].sent,
        url=f"https://outages.example.org/outages/{id}",
        areas=areas,
        texts=(
            text("zh-CN", title, summary, names, state),
            text("en", title, summary, names, state),
        ),
        history=history,
        restored_at=restored_at,
    )


def info(language: str = "en") -> FeedInfo:
    return FeedInfo(
        title="Planned shutoffs",
        subtitle="Upcoming shutoffs",
        home_url="https://outages.example.org/",
        self_url="https://outages.example.org/feeds/outages.rss",
        feed_id="https://outages.example.org/feeds/outages.rss",
        language=language,
        updated=NOW,
    )
