from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from channels import cap
from channels.feeds import FeedArea, FeedOutage
from tests.channels.feed_values import HOSTILE, NOW, info, outage, square
from tests.feed_validity import cap_rules, valid_atom

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "CAP-v1.2.xsd"
NS = {"cap": cap.CAP_NS}
SENDER = cap.CapSender.for_url("https://outages.example.org")
CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def valid_alert(data: bytes) -> etree._Element:
    """Parse an alert and check it against the OASIS CAP 1.2 schema."""
    root = etree.fromstring(data)
    if not schema().validate(root):
        raise AssertionError(f"invalid CAP: {schema().error_log}")
    assert cap_rules(root) == []
    return root


def alert(value: FeedOutage, now: datetime = NOW) -> etree._Element:
    return valid_alert(cap.cap_alert(value, sender=SENDER, hotline="12319", now=now))


def one(root: etree._Element, path: str) -> str:
    (found,) = root.xpath(path, namespaces=NS)
    return str(found.text)


@pytest.mark.parametrize(
    ("value", "msg_type", "response"),
    [
        (outage(revision=1), "Alert", "Prepare"),
        (outage(revision=2), "Update", "Prepare"),
        (outage(revision=3, status="cancelled"), "Cancel", "AllClear"),
        (outage(revision=2, status="restored", restored_at=NOW), "Update", "AllClear"),
    ],
    ids=["created", "changed", "cancelled", "restored"],
)
def test_each_revision_is_a_valid_alert_of_the_right_type(value, msg_type, response) -> None:  # type: ignore[no-untyped-def]
    root = alert(value)
    assert one(root, "cap:msgType") == msg_type
    assert one(root, "cap:status") == "Actual"
    assert one(root, "cap:scope") == "Public"
    assert root.xpath("cap:info/cap:responseType/text()", namespaces=NS) == [response, response]
    assert one(root, "cap:identifier") == f"outage-7-{value.revision}@outages.example.org"


def test_an_update_references_every_earlier_revision() -> None:
    root = alert(outage(revision=3))
    references = one(root, "cap:references").split(" ")
    assert references == [
        "outage-notify@outages.example.org,outage-7-1@outages.example.org,"
        "2026-11-28T08:00:00+08:00",
        "outage-notify@outages.example.org,outage-7-2@outages.example.org,"
        "2026-11-28T09:00:00+08:00",
    ]
    assert not alert(outage(revision=1)).xpath("cap:references", namespaces=NS)


def test_one_info_per_language_with_the_required_fields() -> None:
    root = alert(outage())
    infos = root.xpath("cap:info", namespaces=NS)
    assert [one(i, "cap:language") for i in infos] == ["zh-CN", "en"]
    en = infos[1]
    assert one(en, "cap:category") == "Infra"
    assert one(en, "cap:event") == "Planned water shutoff"
    assert one(en, "cap:certainty") == "Likely"
    assert one(en, "cap:senderName") == "City Water"
    assert one(en, "cap:contact") == "12319"
    assert one(en, "cap:web") == "https://outages.example.org/outages/7"
    assert one(en, "cap:onset") == "2026-12-03T08:00:00+08:00"
    assert one(en, "cap:expires") == "2026-12-03T12:00:00+08:00"
    assert one(en, "cap:instruction") == "Store water."


@pytest.mark.parametrize(("utility", "severity"), [("water", "Moderate"), ("gas", "Severe")])
def test_severity_follows_the_utility(utility: str, severity: str) -> None:
    root = alert(outage(utility=utility))
    assert set(root.xpath("cap:info/cap:severity/text()", namespaces=NS)) == {severity}


START = NOW + timedelta(days=2)


@pytest.mark.parametrize(
    ("now", "status", "expected"),
    [
        (START - timedelta(hours=2), "planned", "Future"),
        (START - timedelta(minutes=61), "planned", "Future"),
        (START - timedelta(minutes=60), "planned", "Expected"),
        (START - timedelta(minutes=5), "planned", "Expected"),
        (START + timedelta(hours=1), "planned", "Expected"),
        (START + timedelta(hours=4), "planned", "Past"),
        (START - timedelta(hours=2), "cancelled", "Past"),
        (START + timedelta(hours=1), "restored", "Past"),
    ],
)
def test_urgency(now: datetime, status: str, expected: str) -> None:
    value = outage(revision=2, status=status, restored_at=now if status == "restored" else None)
    root = alert(value, now=now)
    assert set(root.xpath("cap:info/cap:urgency/text()", namespaces=NS)) == {expected}


def test_an_all_clear_expires_a_day_after_it_was_sent() -> None:
    value = outage(revision=2, status="restored", start=NOW - timedelta(days=4), hours=2)
    root = alert(value)
    expected = cap.cap_time(value.updated + timedelta(hours=24))
    assert set(root.xpath("cap:info/cap:expires/text()", namespaces=NS)) == {expected}


def test_a_cancel_made_days_ahead_expires_a_day_after_the_planned_start() -> None:
    value = outage(revision=2, status="cancelled", start=NOW + timedelta(days=5))
    assert value.updated + timedelta(days=1) < value.start  # the case that went wrong
    root = alert(value)  # cap_rules: expires after onset
    expected = cap.cap_time(value.start + timedelta(hours=24))
    assert set(root.xpath("cap:info/cap:expires/text()", namespaces=NS)) == {expected}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda a: a.find("cap:references", NS).getparent().remove(a.find("cap:references", NS)),
            "an Update without references",
        ),
        (
            lambda a: setattr(
                a.find("cap:info/cap:expires", NS), "text", "2026-11-01T00:00:00-00:00"
            ),
            "is not after onset",
        ),
        (
            lambda a: setattr(
                a.find("cap:info/cap:area/cap:polygon", NS), "text", "1,1 1,2 2,2 2,1"
            ),
            "is not closed",
        ),
    ],
    ids=["no references", "expires before onset", "open polygon"],
)
def test_the_cap_rule_checks_catch_what_the_schema_lets_through(change, problem) -> None:  # type: ignore[no-untyped-def]
    root = alert(outage(revision=2))
    change(root)
    assert schema().validate(root)
    assert any(problem in p for p in cap_rules(root))


OPEN_RING = ((121.0, 31.0), (121.1, 31.0), (121.1, 31.1))


def test_areas_have_closed_lat_lon_polygons_and_a_geocode() -> None:
    areas = (
        FeedArea("A1", (square(121.47, 31.23), square(121.5, 31.2))),
        FeedArea("A2", ((OPEN_RING,),)),
    )
    root = alert(outage(areas=areas))
    en = root.xpath("cap:info[cap:language='en']", namespaces=NS)[0]
    found = en.xpath("cap:area", namespaces=NS)
    assert [one(a, "cap:areaDesc") for a in found] == ["A1 district", "A2 district"]
    assert [one(a, "cap:geocode/cap:value") for a in found] == ["A1", "A2"]
    assert one(found[0], "cap:geocode/cap:valueName") == "outage-notify:area"
    polygons = [p.text for a in found for p in a.xpath("cap:polygon", namespaces=NS)]
    assert len(polygons) == 3
    first = polygons[0].split(" ")
    assert first[0] == "31.23,121.47"  # lat,lon: CAP's order, not GeoJSON's
    assert first[0] == first[-1]
    assert polygons[2] == "31.0,121.0 31.0,121.1 31.1,121.1 31.0,121.0"


def test_a_degenerate_ring_is_left_out() -> None:
    areas = (FeedArea("A1", ((((121.0, 31.0), (121.1, 31.0)),),)),)
    root = alert(outage(areas=areas))
    assert not root.xpath("//cap:polygon", namespaces=NS)
    assert root.xpath("//cap:area/cap:geocode", namespaces=NS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
            "2026-12-01T08:00:00+08:00",
        ),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "2026-12-01T00:00:00-00:00"),
        (
            datetime(2026, 6, 1, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            "2026-06-01T03:04:05-05:30",
        ),
    ],
)
def test_cap_times_have_an_offset_and_no_fractions(value: datetime, expected: str) -> None:
    assert cap.cap_time(value) == expected


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        cap.cap_time(datetime(2026, 12, 1))


def test_every_time_in_an_alert_matches_the_cap_pattern() -> None:
    root = alert(outage(revision=3))
    times = root.xpath("cap:sent | cap:info/cap:onset | cap:info/cap:expires", namespaces=NS)
    assert times
    assert all(CAP_TIME.fullmatch(t.text) for t in times)
    for reference in one(root, "cap:references").split(" "):
        assert CAP_TIME.fullmatch(reference.split(",")[2])


def test_hostile_text_comes_back_from_an_alert_exactly() -> None:
    summary = f"{HOSTILE}\nHotline 12319"
    root = alert(outage(title=HOSTILE, summary=summary))
    assert one(root, "cap:info[cap:language='en']/cap:headline") == (
        f"Planned water shutoff: {HOSTILE}"
    )
    assert one(root, "cap:info[cap:language='en']/cap:description") == summary


def test_the_index_lists_the_latest_alert_of_each_outage() -> None:
    values = [outage(id=1, revision=2), outage(id=2)]
    data = cap.cap_index(
        info(), values, sender=SENDER, alert_url=lambda o: f"https://h/cap/{o.id}-{o.revision}.xml"
    )
    valid_atom(data)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    assert [e.id for e in parsed.entries] == [
        "tag:outages.example.org,2026-11-28:outage/1/cap/2",
        "tag:outages.example.org,2026-11-28:outage/2/cap/1",
    ]
    links = parsed.entries[0].links
    assert {"href": "https://h/cap/1-2.xml", "rel": "alternate", "type": cap.CAP_MEDIA_TYPE} in [
        {k: link[k] for k in ("href", "rel", "type")} for link in links
    ]
