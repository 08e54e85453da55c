"""The published documents (RSS, Atom, iCalendar, CAP, banner JSON), rendered from a
:class:`~outage_notify.publishing.publication.Snapshot`. The web routes and the static export
share it, so a feed served live and the exported file say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from channels import banner, cap, feeds
from channels.feeds import FeedInfo, FeedOutage
from outage_notify.publishing.publication import OutageFilter, Snapshot
from outage_notify.settings import Settings

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"
CAP_TYPE = "application/cap+xml; charset=utf-8"
JSON_TYPE = "application/json"
JS_TYPE = "text/javascript; charset=utf-8"

TITLES = {
    "en": {
        (): "Planned water and gas shutoffs",
        ("water",): "Planned water shutoffs",
        ("gas",): "Planned gas shutoffs",
    },
    "zh-CN": {(): "计划停水停气", ("water",): "计划停水", ("gas",): "计划停气"},
}
SUBTITLES = {
    "en": "Upcoming and current shutoffs, and those that ended or were cancelled in the last "
    "7 days. Hotline {hotline}.",
    "zh-CN": "即将进行和正在进行的停水停气，以及最近7天内结束或取消的。咨询热线 {hotline}。",
}
CAP_TITLES = {"en": "CAP alerts: {title}", "zh-CN": "CAP 预警：{title}"}


def feed_query(outage_filter: OutageFilter, language: str | None = None) -> str:
    pairs = [("utility", u) for u in outage_filter.utilities]
    pairs += [("area", a) for a in outage_filter.areas]
    if language:
        pairs.append(("lang", language))
    return urlencode(pairs)


class Publisher:
    """Renders documents for one deployment (its public URL, hotline, languages)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = settings.public_url
        self.sender = cap.CapSender.for_url(settings.public_url)
        self.authority = urlsplit(settings.public_url).netloc

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def alert_url(self, outage: FeedOutage) -> str:
        return self.url(f"/cap/{outage.id}-{outage.revision}.xml")

    def title(self, snapshot: Snapshot, outage_filter: OutageFilter, language: str) -> str:
        title = TITLES[language].get(outage_filter.utilities, TITLES[language][()])
        if outage_filter.areas:
            names = [
                snapshot.areas[c].label(language) if c in snapshot.areas else c
                for c in outage_filter.areas
            ]
            title += f"（{'、'.join(names)}）" if language == "zh-CN" else f" ({', '.join(names)})"
        return title

    def info(
        self,
        snapshot: Snapshot,
        outages: Sequence[FeedOutage],
        outage_filter: OutageFilter,
        language: str | None,
        path: str,
        *,
        title: str | None = None,
    ) -> FeedInfo:
        """The feed's own facts. ``language`` None is the default one, not named in the URL:
        the self link is the URL the feed is served at (filters in their canonical order)."""
        shown = self.language(language)
        query = feed_query(outage_filter, language)
        selection = feed_query(outage_filter)
        selection = f"?{selection}" if selection else ""
        return FeedInfo(
            title=title or self.title(snapshot, outage_filter, shown),
            subtitle=SUBTITLES[shown].format(hotline=self.settings.hotline),
            home_url=self.url("/") + selection,
            self_url=self.url(path) + (f"?{query}" if query else ""),
            feed_id=self.url(path) + selection,
            language=shown,
            updated=max((o.updated for o in outages), default=snapshot.now.replace(microsecond=0)),
        )

    def language(self, language: str | None) -> str:
        return language or self.settings.default_language

    def _chosen(self, snapshot: Snapshot, outage_filter: OutageFilter) -> list[FeedOutage]:
        # Newest change first, as feed readers expect.
        chosen = outage_filter.apply(snapshot.outages)
        return sorted(chosen, key=lambda o: (o.updated, o.id), reverse=True)

    def rss(self, snapshot: Snapshot, outage_filter: OutageFilter, language: str | None) -> bytes:
        outages = self._chosen(snapshot, outage_filter)
        info = self.info(snapshot, outages, outage_filter, language, "/feeds/outages.rss")
        return feeds.rss(info, outages)

    def atom(self, snapshot: Snapshot, outage_filter: OutageFilter, language: str | None) -> bytes:
        outages = self._chosen(snapshot, outage_filter)
        info = self.info(snapshot, outages, outage_filter, language, "/feeds/outages.atom")
        return feeds.atom(info, outages)

    def ics(self, snapshot: Snapshot, outage_filter: OutageFilter, language: str | None) -> bytes:
        outages = outage_filter.apply(snapshot.outages)
        info = self.info(snapshot, outages, outage_filter, language, "/feeds/outages.ics")
        return feeds.ics(info, outages)

    def cap_index(
        self, snapshot: Snapshot, outage_filter: OutageFilter, language: str | None
    ) -> bytes:
        outages = self._chosen(snapshot, outage_filter)
        shown = self.language(language)
        title = CAP_TITLES[shown].format(title=self.title(snapshot, outage_filter, shown))
        info = self.info(snapshot, outages, outage_filter, language, "/feeds/cap.atom", title=title)
        return cap.cap_index(info, outages, sender=self.sender, alert_url=self.alert_url)

    def cap_alert(self, outage: FeedOutage, now: datetime) -> bytes:
        return cap.cap_alert(outage, sender=self.sender, hotline=self.settings.hotline, now=now)

    def banner(
        self, snapshot: Snapshot, area: str | None, now: datetime, *, ahead_of_time: bool = False
    ) -> bytes:
        document = banner.banner_document(
            snapshot.outages,
            now=now,
            area=area,
            hotline=self.settings.hotline,
            default_language=self.settings.default_language,
            ahead_of_time=ahead_of_time,
        )
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
