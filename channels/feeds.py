"""RSS 2.0 and Atom 1.0 (with GeoRSS polygons) and iCalendar feeds of outages.

A leaf module: it takes plain values (:class:`FeedOutage` and friends, built by the core from
the database) and returns bytes. Every document is made by a library (feedgen and lxml for
the XML, icalendar for the calendar), never by string concatenation, so hostile text in a
title comes back from a reader exactly as it was written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon

from channels.calendar import calendar_document, outage_uid, outage_vevent

GEORSS_NS = "http://www.georss.org/georss"
GENERATOR = "outage-notify"

Point = tuple[float, float]  # (lon, lat), as in GeoJSON
Ring = tuple[Point, ...]
Shape = tuple[Ring, ...]  # a polygon: the exterior ring, then any holes

# Characters XML 1.0 cannot carry at all; a planner's stray control character must not take
# the whole feed down, so it becomes U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


@dataclass(frozen=True)
class FeedArea:
    code: str
    shapes: tuple[Shape, ...]  # lon/lat polygons; empty when the area has no geometry


@dataclass(frozen=True)
class FeedRevision:
    """One revision of an outage, as the CAP references and the history need it."""

    revision: int
    change: str  # created | rescheduled | extended | cancelled | restored
    status: str  # planned | cancelled | restored
    start: datetime  # aware, local
    end: datetime
    sent: datetime  # when the revision was made
    reason: str | None = None


@dataclass(frozen=True)
class FeedText:
    """An outage told in one language; the core renders these from its templates."""

    language: str  # "zh-CN" or "en"
    title: str  # starts with the state: "PLANNED: Main St water main"
    summary: str  # plain text: what, when (local time), where, why, the hotline
    line: str  # one short line for a banner
    event: str  # "Planned water shutoff"
    headline: str  # CAP headline, under 160 characters
    instruction: str
    sender_name: str  # "City Water"
    when: str  # "Tue 1 Dec 08:00-12:00"
    area_names: tuple[str, ...]  # parallel to FeedOutage.areas


@dataclass(frozen=True)
class FeedOutage:
    """One outage at one revision, in local time, with everything a feed shows."""

    id: int
    revision: int
    state: str  # PLANNED | CHANGED | CANCELLED | RESTORED
    status: str  # planned | cancelled | restored
    utility: str  # water | gas
    title: str  # the planner's own title
    description: str
    start: datetime  # aware, local
    end: datetime
    created: datetime  # when revision 1 was made
    updated: datetime  # when this revision was made
    url: str  # the outage page
    areas: tuple[FeedArea, ...]
    texts: tuple[FeedText, ...]  # the default language first
    history: tuple[FeedRevision, ...]  # revisions 1..revision, oldest first
    restored_at: datetime | None = None

    def text(self, language: str | None = None) -> FeedText:
        for text in self.texts:
            if text.language == language:
                return text
        return self.texts[0]

    @property
    def ended_at(self) -> datetime:
        """When the outage stopped mattering: restored, cancelled, or its planned end."""
        if self.status == "restored" and self.restored_at is not None:
            return self.restored_at
        if self.status == "cancelled":
            return self.updated
        return self.end


@dataclass(frozen=True)
class FeedInfo:
    """The feed as a whole."""

    title: str
    subtitle: str
    home_url: str  # the outage list page
    self_url: str  # this feed's own address
    feed_id: str  # a stable URI for the feed
    language: str
    updated: datetime  # the latest revision in the feed (or the build time when empty)


def entry_id(outage: FeedOutage, authority: str) -> str:
    """A tag: URI (RFC 4151) that never changes: the host and the day revision 1 was made."""
    return f"tag:{authority},{outage.created.date().isoformat()}:outage/{outage.id}"


def tag_authority(url: str) -> str:
    """The host of ``url`` as a tag: URI's authority: RFC 4151 allows a DNS name (or an
    email address), so no port, no user, lower case."""
    return (urlsplit(url).hostname or "").lower()


def exterior_rings(outage: FeedOutage) -> list[Ring]:
    """Each area polygon's outer ring, closed. Holes are left out: a feed over-warns."""
    rings = []
    for area in outage.areas:
        for shape in area.shapes:
            ring = shape[0]
            rings.append(ring if ring[0] == ring[-1] else (*ring, ring[0]))
    return rings


def centroid(outage: FeedOutage) -> Point | None:
    polygons = [Polygon(s[0], s[1:]) for a in outage.areas for s in a.shapes if len(s[0]) >= 3]
    if not polygons:
        return None
    point = MultiPolygon(polygons).centroid
    return (round(point.x, 6), round(point.y, 6))


def _coordinate(value: float) -> str:
    return repr(round(value, 6))


class _GeoRSSFeed(BaseExtension):
    def extend_ns(self) -> dict[str, str]:
        return {"georss": GEORSS_NS}


class _GeoRSSEntry(BaseEntryExtension):
    """One ``georss:polygon`` per area polygon (feedgen's own geo extension holds only one).

    GeoRSS Simple writes "lat lon" pairs; a reader that keeps one geometry per entry keeps
    the last.
    """

    def __init__(self) -> None:
        self.rings: list[Ring] = []

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        for ring in self.rings:
            polygon = xml_elem(f"{{{GEORSS_NS}}}polygon", entry)
            polygon.text = " ".join(f"{_coordinate(lat)} {_coordinate(lon)}" for lon, lat in ring)
        return entry

    extend_atom = extend_rss


class _PlainExtension(BaseExtension):
    pass


class _AtomLinks(BaseEntryExtension):
    """Puts ``rel`` and ``type`` back on an Atom entry's links: feedgen 1.0 writes only
    ``href`` (lkiesow/python-feedgen#135)."""

    def __init__(self) -> None:
        self.attributes: dict[str, dict[str, str]] = {}

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for element in entry:
            if isinstance(element.tag, str) and etree.QName(element).localname == "link":
                element.attrib.update(self.attributes.get(element.get("href", ""), {}))
        return entry

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        return entry


def new_feed() -> FeedGenerator:
    """A FeedGenerator whose entries can carry GeoRSS polygons and typed links."""
    feed = FeedGenerator()
    feed.register_extension("georss", _GeoRSSFeed, _GeoRSSEntry)
    feed.register_extension("atomlinks", _PlainExtension, _AtomLinks)
    return feed


def add_link(entry: FeedEntry, href: str, *, rel: str, media_type: str | None = None) -> None:
    entry.link(href=href, rel=rel, type=media_type)
    attributes = {"rel": rel} | ({"type": media_type} if media_type else {})
    entry.atomlinks.attributes[href] = attributes


def add_author(entry: FeedEntry, name: str, uri: str) -> None:
    """RFC 4287 wants an author on every entry (or on the feed): the utility that sends it."""
    entry.author({"name": xml_text(name), "uri": uri})


def _generator(info: FeedInfo) -> FeedGenerator:
    feed = new_feed()
    feed.id(info.feed_id)
    feed.title(xml_text(info.title))
    feed.subtitle(xml_text(info.subtitle))
    # feedgen takes the last link as RSS's <link>: the home page, not the feed itself.
    feed.link(href=info.self_url, rel="self")
    feed.link(href=info.home_url, rel="alternate")
    feed.language(info.language)
    feed.updated(info.updated)
    feed.generator(GENERATOR)
    feed.ttl(1)
    return feed


def _add_entries(
    feed: FeedGenerator, outages: Sequence[FeedOutage], info: FeedInfo, *, for_rss: bool
) -> None:
    authority = tag_authority(info.home_url)
    # feedgen prepends by default; append keeps our order (soonest first).
    for outage in outages:
        text = outage.text(info.language)
        entry = feed.add_entry(order="append")
        entry.id(entry_id(outage, authority))
        entry.guid(entry_id(outage, authority), permalink=False)
        entry.title(xml_text(text.title))
        if not for_rss:  # RSS's <author> is an email address, which we do not publish
            add_author(entry, text.sender_name, info.home_url)
        add_link(entry, outage.url, rel="alternate", media_type="text/html")
        entry.updated(outage.updated)
        entry.category(term=outage.utility)
        entry.category(term=outage.state.lower())
        if for_rss:
            # RSS has no "updated": its pubDate moves with each revision. Readers treat a
            # description as HTML, so it is escaped text there: shown, never interpreted.
            entry.published(outage.updated)
            entry.description(xml_text(html.escape(text.summary).replace("\n", "<br>\n")))
        else:
            entry.published(outage.created)
            entry.summary(xml_text(text.summary), type="text")
        entry.georss.rings = exterior_rings(outage)


def rss(info: FeedInfo, outages: Sequence[FeedOutage]) -> bytes:
    feed = _generator(info)
    feed.description(xml_text(info.subtitle))
    _add_entries(feed, outages, info, for_rss=True)
    data: bytes = feed.rss_str(pretty=True)
    return data


def atom(info: FeedInfo, outages: Sequence[FeedOutage]) -> bytes:
    feed = _generator(info)
    _add_entries(feed, outages, info, for_rss=False)
    data: bytes = feed.atom_str(pretty=True)
    return data


def feed_vevent(outage: FeedOutage, *, language: str, public_url: str) -> icalendar.Event:
    """The outage as the calendar feed's VEVENT: the email attachment's event (same UID, so a
    calendar that has both sees one outage) plus the centroid and the creation times."""
    text = outage.text(language)
    event = outage_vevent(
        uid=outage_uid(outage.id, public_url),
        sequence=outage.revision,
        start=outage.start,
        end=outage.end,
        summary=text.title,
        stamp=outage.updated,
        description=text.summary,
        url=outage.url,
        location=("、" if text.language == "zh-CN" else ", ").join(text.area_names),
        cancelled=outage.status == "cancelled",
        categories=[outage.utility],
    )
    event.add("created", outage.created)
    event.add("last-modified", outage.updated)
    point = centroid(outage)
    if point is not None:
        event.add("geo", (point[1], point[0]))
    return event


def ics(info: FeedInfo, outages: Sequence[FeedOutage]) -> bytes:
    events = [feed_vevent(o, language=info.language, public_url=info.home_url) for o in outages]
    # Subscribed calendars poll on their own schedule; this asks for hourly.
    return calendar_document(events, name=info.title, refresh=timedelta(hours=1))
