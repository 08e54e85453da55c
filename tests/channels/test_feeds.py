from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta

import feedparser
import icalendar
import pytest
from lxml import etree
from lxml import html as lxml_html

from channels import feeds
from channels.feeds import FeedArea
from tests.channels.feed_values import HOSTILE, NOW, SHANGHAI, info, outage, square
from tests.feed_validity import ATOM, valid_atom

GEORSS = "{http://www.georss.org/georss}polygon"


def parse(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def reader_text(description_html: str) -> str:
    """What a reader shows for an RSS description (HTML)."""
    return str(lxml_html.fragment_fromstring(description_html, create_parent="div").text_content())


@pytest.mark.parametrize("render", [feeds.rss, feeds.atom], ids=["rss", "atom"])
def test_a_feed_parses_with_one_entry_per_outage(render) -> None:  # type: ignore[no-untyped-def]
    items = [outage(id=1), outage(id=2, revision=2)]
    parsed = parse(render(info(), items))
    assert [e.title for e in parsed.entries] == [
        "PLANNED: Main replacement",
        "CHANGED: Main replacement",
    ]
    assert parsed.entries[0].link == "https://outages.example.org/outages/1"
    assert parsed.entries[0].id == "tag:outages.example.org,2026-11-28:outage/1"
    assert parsed.feed.title == "Planned shutoffs"


@pytest.mark.parametrize(
    "home", ["https://outages.example.org/", "https://Outages.Example.org:8443/city/"]
)
def test_atom_is_valid_rfc_4287_with_authors_and_tag_ids_without_a_port(home: str) -> None:
    feed_info = replace(info(), home_url=home)
    items = [outage(id=1), outage(id=2, revision=2, title=HOSTILE), outage(id=3, areas=())]
    root = valid_atom(feeds.atom(feed_info, items))
    ids = root.xpath("//a:entry/a:id/text()", namespaces={"a": ATOM})
    assert ids[0] == "tag:outages.example.org,2026-11-28:outage/1"
    names = root.xpath("//a:entry/a:author/a:name/text()", namespaces={"a": ATOM})
    assert names == ["City Water"] * 3


def test_an_empty_atom_feed_is_valid() -> None:
    valid_atom(feeds.atom(info(), []))


def test_the_entry_id_is_stable_across_revisions() -> None:
    first = parse(feeds.atom(info(), [outage(revision=1)])).entries[0]
    third = parse(feeds.atom(info(), [outage(revision=3)])).entries[0]
    assert first.id == third.id
    assert third.updated_parsed > first.updated_parsed


def test_rss_pub_date_moves_with_each_revision() -> None:
    first = parse(feeds.rss(info(), [outage(revision=1)])).entries[0]
    second = parse(feeds.rss(info(), [outage(revision=2)])).entries[0]
    assert first.guid == second.guid
    assert second.published_parsed > first.published_parsed


def test_atom_published_is_the_announcement_and_updated_the_revision() -> None:
    entry = parse(feeds.atom(info(), [outage(revision=2)])).entries[0]
    assert entry.published.startswith("2026-11-28T08:00:00")
    assert entry.updated.startswith("2026-11-28T09:00:00")


@pytest.mark.parametrize("render", [feeds.rss, feeds.atom], ids=["rss", "atom"])
def test_georss_polygon_round_trips(render) -> None:  # type: ignore[no-untyped-def]
    shape = square(121.473701, 31.230416, 0.012345)
    parsed = parse(render(info(), [outage(areas=(FeedArea("A1", (shape,)),))]))
    where = parsed.entries[0].where
    assert where["type"] == "Polygon"
    assert [tuple(p) for p in where["coordinates"][0]] == list(shape[0])


@pytest.mark.parametrize("render", [feeds.rss, feeds.atom], ids=["rss", "atom"])
def test_every_area_polygon_is_in_the_entry(render) -> None:  # type: ignore[no-untyped-def]
    areas = (
        FeedArea("A1", (square(121.47, 31.23), square(121.50, 31.23))),
        FeedArea("A2", (square(121.52, 31.25),)),
        FeedArea("NOGEO", ()),
    )
    tree = etree.fromstring(render(info(), [outage(areas=areas)]))
    rings = [p.text.split() for p in tree.iter(GEORSS)]
    expected = [ring for a in areas for s in a.shapes for ring in s[:1]]
    assert len(rings) == len(expected) == 3
    for text, ring in zip(rings, expected, strict=True):
        numbers = [float(n) for n in text]
        pairs = list(zip(numbers[1::2], numbers[0::2], strict=True))  # written lat lon
        assert pairs == [(round(lon, 6), round(lat, 6)) for lon, lat in ring]


def test_an_open_ring_is_closed() -> None:
    ring = ((121.0, 31.0), (121.1, 31.0), (121.1, 31.1))
    rings = feeds.exterior_rings(outage(areas=(FeedArea("A1", ((ring,),)),)))
    assert rings == [(*ring, ring[0])]


@pytest.mark.parametrize("render", [feeds.rss, feeds.atom], ids=["rss", "atom"])
def test_hostile_text_comes_back_exactly(render) -> None:  # type: ignore[no-untyped-def]
    summary = f"{HOSTILE}\nHotline: 12319"
    entry = parse(render(info(), [outage(title=HOSTILE, summary=summary)])).entries[0]
    assert entry.title == f"PLANNED: {HOSTILE}"
    if render is feeds.rss:
        # RSS descriptions are HTML: the reader shows the escaped text, never runs it.
        assert entry.summary_detail.type == "text/html"
        assert HOSTILE in reader_text(entry.summary)
        assert "<script>" not in entry.summary
    else:
        assert entry.summary_detail.type == "text/plain"
        assert entry.summary == summary


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    data = feeds.rss(info(), [outage(title="bell\x07 and nul\x00")])
    assert parse(data).entries[0].title == "PLANNED: bell\ufffd and nul\ufffd"


def test_an_empty_feed_is_valid() -> None:
    parsed = parse(feeds.atom(info(), []))
    assert parsed.entries == []
    assert parsed.feed.updated.startswith("2026-12-01T08:00:00")


def calendar_events(data: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return list(calendar.walk("VEVENT"))


def test_the_calendar_has_one_event_per_outage_with_stable_uid_and_sequence() -> None:
    events = calendar_events(feeds.ics(info(), [outage(id=1), outage(id=2, revision=3)]))
    assert [str(e["uid"]) for e in events] == [
        "outage-1@outages.example.org",
        "outage-2@outages.example.org",
    ]
    assert [e.decoded("sequence") for e in events] == [1, 3]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CONFIRMED"]


def test_a_cancelled_outage_stays_in_the_calendar_as_cancelled() -> None:
    (event,) = calendar_events(feeds.ics(info(), [outage(revision=2, status="cancelled")]))
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("sequence") == 2


def test_calendar_times_carry_their_zone_and_a_vtimezone() -> None:
    data = feeds.ics(info(), [outage()])
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("dtstart") == NOW + timedelta(days=2)
    assert event.decoded("dtend") == NOW + timedelta(days=2, hours=4)
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_calendar_event_has_url_location_and_geo_at_the_centroid() -> None:
    areas = (FeedArea("A1", (square(121.0, 31.0, 0.02),)), FeedArea("A2", (square(121.04, 31.0),)))
    (event,) = calendar_events(feeds.ics(info(), [outage(areas=areas)]))
    assert str(event["url"]) == "https://outages.example.org/outages/7"
    assert str(event["location"]) == "A1 district, A2 district"
    geo = event["geo"]
    # area-weighted: the big square (4x) pulls the centroid towards itself
    assert geo.latitude == pytest.approx(31.009, abs=1e-3)
    assert geo.longitude == pytest.approx(121.017, abs=1e-3)


def test_calendar_event_without_geometry_has_no_geo() -> None:
    (event,) = calendar_events(feeds.ics(info(), [outage(areas=(FeedArea("X", ()),))]))
    assert "geo" not in event


def test_hostile_text_comes_back_from_the_calendar_exactly() -> None:
    summary = f"{HOSTILE}\nline two; with, punctuation \\ backslash"
    (event,) = calendar_events(feeds.ics(info(), [outage(title=HOSTILE, summary=summary)]))
    assert str(event["summary"]) == f"PLANNED: {HOSTILE}"
    assert str(event["description"]) == summary


def test_the_feed_event_has_the_email_attachments_uid() -> None:
    from channels.calendar import outage_uid

    value = outage(start=NOW.astimezone(SHANGHAI))
    event = feeds.feed_vevent(value, language="en", public_url="https://h.example:8443/x")
    assert str(event["uid"]) == outage_uid(7, "https://h.example:8443/x") == "outage-7@h.example"
    assert (
        event.to_ical()
        == feeds.feed_vevent(value, language="en", public_url="https://h.example:8443/x").to_ical()
    )


def test_the_calendar_asks_to_be_fetched_hourly() -> None:
    calendar = icalendar.Calendar.from_ical(feeds.ics(info(), [outage()]))
    assert calendar.decoded("refresh-interval") == timedelta(hours=1)
    assert calendar["x-published-ttl"].to_ical() == b"PT1H"
    assert str(calendar["x-wr-calname"]) == "Planned shutoffs"


def test_rss_description_lines_are_separated() -> None:
    entry = parse(feeds.rss(info(), [outage(summary="one & <two>\nthree")])).entries[0]
    first, second = entry.summary.split("<br />")
    assert html.unescape(first.strip()) == "one & <two>"
    assert second.strip() == "three"
