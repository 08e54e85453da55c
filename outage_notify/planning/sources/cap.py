"""A CAP 1.2 alert document (read with lxml) to a :class:`MappedEntry`; and the alert links
of a CAP index (an Atom feed of alerts).

The mapping (docs/sources.md): ``identifier`` is the key and ``references`` tie an Update or
a Cancel to the alerts before it; the first ``<info>`` gives the headline, description and the
times (``onset``, else ``effective``; ``expires``); its ``<area>`` elements give the place
(``<geocode>`` values naming our area codes, ``<polygon>`` rings); ``msgType`` Cancel cancels.
The utility comes from a ``<parameter>`` or ``<eventCode>`` named ``utility``.
Only ``status`` Actual alerts become outages: Exercise, Test, System and Draft are ignored.
"""

from __future__ import annotations

from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from lxml import etree

from outage_notify.planning.sources.entries import (
    MappedEntry,
    merge_polygons,
    parse_time,
    plain_text,
    polygon_of,
)
from outage_notify.planning.sources.fetch import FeedError
from outage_notify.states import UTILITIES

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
_N = {"cap": CAP_NS}
_ATOM = {"atom": ATOM_NS}
# No DTDs, no entities, no network: an alert is data from outside.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class NotActual(FeedError):
    """A well-formed alert that is not about real work (a test or an exercise)."""


def parse_alert(body: bytes, *, zone: ZoneInfo) -> MappedEntry:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        if b"<html" in body[:512].lower():
            raise FeedError("not a CAP alert (it is an HTML page)") from None
        raise FeedError(f"the alert is not well-formed XML: {exc}") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise FeedError(f"not a CAP 1.2 alert (the document is <{etree.QName(root).localname}>)")
    status = _text(root, "cap:status")
    if status != "Actual":
        raise NotActual(f"the alert's status is {status or 'missing'}, not Actual: ignored")
    identifier = _text(root, "cap:identifier")
    msg_type = _text(root, "cap:msgType")
    references = tuple(
        part.split(",")[1].strip()
        for part in _text(root, "cap:references").split()
        if len(part.split(",")) >= 2
    )
    info = root.find("cap:info", _N)
    if info is None:
        return MappedEntry(
            key=identifier,
            cancelled=msg_type == "Cancel",
            references=references,
            problems=("the alert has no <info>",),
        )
    problems: list[str] = []
    onset = _text(info, "cap:onset") or _text(info, "cap:effective")
    start, problem = parse_time(onset or None, zone, "onset")
    problems += [problem] if problem else []
    end, problem = parse_time(_text(info, "cap:expires") or None, zone, "expires")
    problems += [problem] if problem else []
    codes: list[str] = []
    polygons = []
    for area in info.findall("cap:area", _N):
        codes += [v.strip() for v in area.xpath("cap:geocode/cap:value/text()", namespaces=_N)]
        for text in area.xpath("cap:polygon/text()", namespaces=_N):
            polygon, problem = _polygon(str(text))
            polygons += [polygon] if polygon else []
            problems += [problem] if problem else []
    utility = _named_value(info, "utility")
    if utility is not None and utility not in UTILITIES:
        problems.append(f"utility {utility!r} is neither water nor gas")
        utility = None
    return MappedEntry(
        key=identifier,
        title=plain_text(_text(info, "cap:headline") or _text(info, "cap:event")),
        description=plain_text(_text(info, "cap:description")),
        start=start,
        end=end,
        utility=utility,
        area_codes=tuple(dict.fromkeys(c for c in codes if c)),
        geometry=merge_polygons(polygons),
        cancelled=msg_type == "Cancel",
        references=references,
        problems=tuple(problems),
    )


def index_links(body: bytes, base_url: str) -> list[str] | None:
    """The alert URLs of a CAP index (an Atom feed whose entries link to alerts, as most CAP
    publishers serve them, ours included); None when the document is not an Atom feed."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != f"{{{ATOM_NS}}}feed":
        return None
    links = []
    for entry in root.findall("atom:entry", _ATOM):
        candidates = entry.findall("atom:link", _ATOM)
        chosen = [c for c in candidates if (c.get("type") or "").startswith(CAP_MEDIA_TYPE)]
        chosen = chosen or [c for c in candidates if c.get("rel", "alternate") == "alternate"]
        if chosen and chosen[0].get("href"):
            links.append(urljoin(base_url, chosen[0].get("href", "")))
    return links


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, _N)
    return (found.text or "").strip() if found is not None else ""


def _named_value(info: etree._Element, name: str) -> str | None:
    for tag in ("cap:parameter", "cap:eventCode"):
        for pair in info.findall(tag, _N):
            if _text(pair, "cap:valueName").lower() == name:
                return _text(pair, "cap:value").lower() or None
    return None


def _polygon(text: str) -> tuple[dict[str, object] | None, str | None]:
    """CAP writes ``lat,lon`` pairs separated by spaces; GeoJSON wants lon, lat."""
    try:
        points = [(float(p.split(",")[1]), float(p.split(",")[0])) for p in text.split()]
    except (IndexError, ValueError):
        return None, f"polygon {text[:40]!r} is not a list of lat,lon pairs"
    polygon = polygon_of([points])
    if polygon is None:
        return None, "a polygon has fewer than four points"
    return polygon, None
