"""RSS, Atom and CAP documents to mapped entries (no database, no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from outage_notify.planning.sources import cap, rss
from outage_notify.planning.sources.fetch import FeedError
from tests.planning.sources.feed_server import sample

ZONE = ZoneInfo("Asia/Shanghai")


def rss_item(inner: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"'
        ' xmlns:georss="http://www.georss.org/georss"><channel><title>t</title>'
        f"<item>{inner}</item></channel></rss>"
    ).encode()


def test_the_rss_sample_maps_title_times_polygon_and_categories() -> None:
    first, second, third = rss.parse_feed(sample("planned-works.rss"), zone=ZONE, expected="rss")
    assert first.key == "WO-2026-11873"
    assert first.utility == "water"
    assert first.start == datetime(2026, 12, 10, 1, tzinfo=UTC)
    assert first.geometry is not None
    assert first.geometry["coordinates"][0][0] == [121.41, 31.21]  # GeoRSS lat lon turned
    assert first.area_codes == ("maintenance",)  # kept; only known area codes count later
    assert second.area_codes == ("W02",)
    assert (third.start, third.end) == (None, None)


def test_the_atom_sample_maps_its_gml_polygon() -> None:
    tie_in, inspection = rss.parse_feed(sample("planned-works.atom"), zone=ZONE, expected="atom")
    assert tie_in.key == "tag:gas.example.com,2026:works/GW-5521"
    assert tie_in.utility == "gas"
    assert tie_in.geometry is not None
    assert tie_in.description.startswith("Gas supply interrupted")
    assert inspection.area_codes == ("G01",)


def test_rss_details() -> None:
    (entry,) = rss.parse_feed(
        rss_item(
            "<link>https://x.example/wo/1</link><title>A &amp; B</title>"
            "<ev:startdate>2026-12-10T09:00</ev:startdate><ev:enddate>soon</ev:enddate>"
            "<georss:point>31.25 121.45</georss:point>"
            "<category>water</category><category>gas</category><category>Canceled</category>"
        ),
        zone=ZONE,
        expected="rss",
    )
    assert entry.key == "https://x.example/wo/1"  # no guid: the link
    assert entry.title == "A & B"
    assert entry.start == datetime(2026, 12, 10, 1, tzinfo=UTC)  # naive: the planners' zone
    assert entry.end is None
    assert entry.point == (121.45, 31.25)
    assert entry.utility is None
    assert entry.cancelled
    assert entry.problems == (
        "ev:enddate 'soon' is not an ISO 8601 time",
        "categories name both water and gas",
    )


def test_the_digest_ignores_which_version_it_is() -> None:
    alert = cap.parse_alert(sample("cap-alert.xml"), zone=ZONE)
    relabelled = cap.parse_alert(
        sample("cap-alert.xml").replace(b"2026.12.1.1001", b"2026.12.1.9999"), zone=ZONE
    )
    assert alert.fields_hash() == relabelled.fields_hash()
    assert alert.fields_hash() != cap.parse_alert(sample("cap-update.xml"), zone=ZONE).fields_hash()


def test_cap_update_and_cancel_reference_the_alert() -> None:
    alert = cap.parse_alert(sample("cap-alert.xml"), zone=ZONE)
    update = cap.parse_alert(sample("cap-update.xml"), zone=ZONE)
    cancel = cap.parse_alert(sample("cap-cancel.xml"), zone=ZONE)
    assert alert.references == ()
    assert update.references == (alert.key,)
    assert cancel.references == (alert.key, update.key)
    assert cancel.cancelled
    assert not update.cancelled
    assert alert.start == datetime(2026, 12, 11, 1, tzinfo=UTC)  # onset, not effective
    assert alert.end == datetime(2026, 12, 11, 7, tzinfo=UTC)


def test_cap_geocodes_name_areas_and_effective_stands_in_for_onset() -> None:
    body = (
        sample("cap-alert.xml")
        .replace(b"<onset>2026-12-11T09:00:00+08:00</onset>", b"")
        .replace(
            b"</area>",
            b"<geocode><valueName>outage-notify:area</valueName><value>W03</value></geocode></area>",
        )
    )
    alert = cap.parse_alert(body, zone=ZONE)
    assert alert.area_codes == ("W03",)
    assert alert.start == datetime(2026, 12, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (sample("cap-alert.xml").replace(b">Actual<", b">Exercise<"), "status is Exercise"),
        (sample("planned-works.atom"), "not a CAP 1.2 alert (the document is <feed>)"),
        (b"<html><body>oops</body>", "not a CAP alert (it is an HTML page)"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>", "not well-formed XML"),
    ],
)
def test_cap_documents_that_are_not_alerts(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cap.parse_alert(body, zone=ZONE)


def test_cap_entities_are_not_resolved(tmp_path: object) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>i</identifier>"
        b"<status>Actual</status><msgType>Alert</msgType>"
        b"<info><headline>&x;</headline></info></alert>"
    )
    alert = cap.parse_alert(body, zone=ZONE)
    assert alert.title == ""
