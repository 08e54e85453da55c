"""CAP 1.2 alerts (OASIS Common Alerting Protocol), the format broadcasters and alert
aggregators ingest, and the Atom index that lists them.

One alert per outage revision: revision 1 is an ``Alert``, later ones an ``Update`` (or a
``Cancel``) that references every earlier revision. Built with lxml; the tests validate each
alert against the OASIS schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from channels.feeds import (
    FeedInfo,
    FeedOutage,
    Ring,
    add_author,
    add_link,
    entry_id,
    new_feed,
    tag_authority,
    xml_text,
)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"
GEOCODE_NAME = "outage-notify:area"
# A planned gas shutoff is the riskier one: appliances must be re-lit safely afterwards and a
# smell of gas must be reported; a water shutoff is an inconvenience with health effects.
SEVERITY = {"water": "Moderate", "gas": "Severe"}
# How long a cancel or an all-clear stays in effect.
ALL_CLEAR_FOR = timedelta(hours=24)
EXPECTED_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class CapSender:
    sender: str  # e.g. "outage-notify@outages.example.org"
    authority: str  # the host, for identifiers

    @classmethod
    def for_url(cls, public_url: str) -> CapSender:
        authority = public_url.split("://", 1)[-1].split("/", 1)[0]
        return cls(sender=f"outage-notify@{authority}", authority=authority)

    def identifier(self, outage_id: int, revision: int) -> str:
        return f"outage-{outage_id}-{revision}@{self.authority}"


def cap_time(value: datetime) -> str:
    """``2026-12-01T08:00:00+08:00``: an explicit offset, no fractions; UTC is ``-00:00``."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in a CAP alert")
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def msg_type(outage: FeedOutage) -> str:
    if outage.status == "cancelled":
        return "Cancel"
    return "Alert" if outage.revision == 1 else "Update"


def urgency(outage: FeedOutage, now: datetime) -> str:
    """Future, or Expected once the work starts within the hour or is under way."""
    if outage.status != "planned" or now >= outage.end:
        return "Past"
    return "Expected" if now >= outage.start - EXPECTED_WITHIN else "Future"


def response_type(outage: FeedOutage) -> str:
    # A cancelled shutoff asks nothing of anybody any more, exactly like a restored one.
    return "Prepare" if outage.status == "planned" else "AllClear"


def expires(outage: FeedOutage) -> datetime:
    """Planned work: its end. An all-clear stays a day after it was sent; a cancel made days
    ahead stays until a day after the work would have started, never expiring before its
    onset (CAP consumers drop an alert whose ``expires`` has passed)."""
    if outage.status == "planned":
        return outage.end
    return max(outage.updated, outage.start) + ALL_CLEAR_FOR


def _closed_lat_lon(ring: Ring) -> str | None:
    points = list(ring)
    if points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        return None  # CAP needs at least four points, the first repeated last
    return " ".join(f"{round(lat, 6)!r},{round(lon, 6)!r}" for lon, lat in points)


def _child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if text is not None:
        element.text = xml_text(text)
    return element


def _references(outage: FeedOutage, sender: CapSender) -> str:
    earlier = [r for r in outage.history if r.revision < outage.revision]
    return " ".join(
        f"{sender.sender},{sender.identifier(outage.id, r.revision)},{cap_time(r.sent)}"
        for r in earlier
    )


def _info(
    alert: etree._Element, outage: FeedOutage, language: str, *, hotline: str, now: datetime
) -> None:
    text = outage.text(language)
    info = _child(alert, "info")
    _child(info, "language", text.language)
    _child(info, "category", "Infra")
    _child(info, "event", text.event)
    _child(info, "responseType", response_type(outage))
    _child(info, "urgency", urgency(outage, now))
    _child(info, "severity", SEVERITY.get(outage.utility, "Unknown"))
    _child(info, "certainty", "Likely")
    _child(info, "onset", cap_time(outage.start))
    _child(info, "expires", cap_time(expires(outage)))
    _child(info, "senderName", text.sender_name)
    _child(info, "headline", text.headline)
    _child(info, "description", text.summary)
    _child(info, "instruction", text.instruction)
    _child(info, "web", outage.url)
    _child(info, "contact", hotline)
    for index, area in enumerate(outage.areas):
        element = _child(info, "area")
        _child(element, "areaDesc", text.area_names[index])
        for shape in area.shapes:
            points = _closed_lat_lon(shape[0])
            if points is not None:
                _child(element, "polygon", points)
        geocode = _child(element, "geocode")
        _child(geocode, "valueName", GEOCODE_NAME)
        _child(geocode, "value", area.code)


def cap_alert(outage: FeedOutage, *, sender: CapSender, hotline: str, now: datetime) -> bytes:
    """The alert for ``outage`` at its revision (``outage.history`` holds the earlier ones)."""
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _child(alert, "identifier", sender.identifier(outage.id, outage.revision))
    _child(alert, "sender", sender.sender)
    _child(alert, "sent", cap_time(outage.updated))
    _child(alert, "status", "Actual")
    _child(alert, "msgType", msg_type(outage))
    _child(alert, "scope", "Public")
    references = _references(outage, sender)
    if references:
        _child(alert, "references", references)
    _child(alert, "incidents", f"outage-{outage.id}@{sender.authority}")
    for text in outage.texts:
        _info(alert, outage, text.language, hotline=hotline, now=now)
    data: bytes = etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def cap_index(
    info: FeedInfo,
    outages: Sequence[FeedOutage],
    *,
    sender: CapSender,
    alert_url: Callable[[FeedOutage], str],
) -> bytes:
    """An Atom feed with one entry per outage: its latest alert.

    Each entry's id is a ``tag:`` IRI of that alert (a CAP identifier is no IRI), so a new
    revision is a new entry, as a new alert is.
    """
    authority = tag_authority(info.home_url)
    feed = new_feed()
    feed.id(info.feed_id)
    feed.title(xml_text(info.title))
    feed.subtitle(xml_text(info.subtitle))
    feed.link(href=info.home_url, rel="alternate")
    feed.link(href=info.self_url, rel="self")
    feed.language(info.language)
    feed.updated(info.updated)
    feed.generator("outage-notify")
    for outage in outages:
        text = outage.text(info.language)
        entry = feed.add_entry(order="append")
        entry.id(f"{entry_id(outage, authority)}/cap/{outage.revision}")
        entry.title(xml_text(text.headline))
        add_author(entry, text.sender_name, info.home_url)
        add_link(entry, alert_url(outage), rel="alternate", media_type=CAP_MEDIA_TYPE)
        add_link(entry, outage.url, rel="related", media_type="text/html")
        entry.published(outage.updated)
        entry.updated(outage.updated)
        entry.summary(xml_text(text.summary), type="text")
    data: bytes = feed.atom_str(pretty=True)
    return data
