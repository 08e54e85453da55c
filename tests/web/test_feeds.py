from __future__ import annotations

import html
import re
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import feedparser
import icalendar
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from lxml import html as lxml_html

from outage_notify.db import Database
from outage_notify.models import Outage
from tests.channels.test_cap import NS, valid_alert
from tests.feed_validity import valid_atom
from tests.web.conftest import Clock
from tests.web.factory import HOSTILE, NOW, City, add_outage, revise

WINDOW = {
    "Upcoming A1",
    "Live A2",
    "Gas G1",
    "Changed A1+A2",
    "Cancelled A1",
    "Restored A2",
    "Ended 3 days ago",
}
FEEDS = ["/feeds/outages.rss", "/feeds/outages.atom"]


def parsed(client: TestClient, url: str) -> feedparser.FeedParserDict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def entry_titles(client: TestClient, url: str) -> set[str]:
    return {untitled(e.title) for e in parsed(client, url).entries}


def untitled(title: str) -> str:
    """The planner's title without the state it opens with (``PLANNED: `` or ``已改期：``)."""
    return re.split(r": |：", title, maxsplit=1)[1]


def calendar(client: TestClient, url: str = "/feeds/outages.ics") -> icalendar.Calendar:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return icalendar.Calendar.from_ical(response.content)


@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        ("/feeds/outages.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/outages.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/outages.ics", "text/calendar; charset=utf-8"),
        ("/feeds/cap.atom", "application/atom+xml; charset=utf-8"),
    ],
)
def test_each_feed_has_its_media_type(
    client: TestClient, city: City, url: str, media_type: str
) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "public, max-age=60"


@pytest.mark.parametrize("url", FEEDS)
def test_a_feed_has_the_outages_of_the_window(client: TestClient, city: City, url: str) -> None:
    assert entry_titles(client, url) == WINDOW


@pytest.mark.parametrize("url", FEEDS)
def test_titles_start_with_the_state(client: TestClient, city: City, url: str) -> None:
    states = {
        e.title.split(": ", 1)[1]: e.title.split(": ", 1)[0]
        for e in parsed(client, f"{url}?lang=en").entries
    }
    assert states["Upcoming A1"] == "PLANNED"
    assert states["Changed A1+A2"] == "RESCHEDULED"
    assert states["Cancelled A1"] == "CANCELLED"
    assert states["Restored A2"] == "RESTORED"


@pytest.mark.parametrize("url", FEEDS)
def test_chinese_titles_say_what_happened_in_chinese(
    client: TestClient, city: City, url: str
) -> None:
    titles = {e.title for e in parsed(client, url).entries}
    assert {"计划停水：Upcoming A1", "已改期：Changed A1+A2", "已取消：Cancelled A1"} <= titles
    assert {"已恢复：Restored A2", "计划停气：Gas G1"} <= titles
    assert not any(t.startswith(("PLANNED", "CHANGED", "CANCELLED")) for t in titles)


def test_entry_text_has_local_times_areas_and_hotline(client: TestClient, city: City) -> None:
    entries = parsed(client, "/feeds/outages.atom?lang=en").entries
    (entry,) = [e for e in entries if e.title == "PLANNED: Upcoming A1"]
    assert entry.summary == (
        "Planned water shutoff: Thu 3 Dec 08:00-12:00 (UTC+08:00).\n"
        "Areas: Zhongshan Rd.\n"
        "Hotline: 12319"
    )
    assert entry.link == f"https://outages.example.org/outages/{city.ids['upcoming']}"


def test_the_default_language_is_the_configured_one(client: TestClient, city: City) -> None:
    feed = parsed(client, "/feeds/outages.atom")
    assert feed.feed.language == "zh-CN"
    assert any("咨询热线：12319" in e.summary for e in feed.entries)


@pytest.mark.parametrize("url", FEEDS)
def test_georss_geometry_round_trips_from_the_database(
    client: TestClient, city: City, url: str
) -> None:
    (entry,) = [e for e in parsed(client, url).entries if e.title.endswith("Upcoming A1")]
    assert entry.where["type"] == "Polygon"
    ring = [tuple(p) for p in entry.where["coordinates"][0]]
    assert ring == [
        (121.47, 31.23),
        (121.48, 31.23),
        (121.48, 31.24),
        (121.47, 31.24),
        (121.47, 31.23),
    ]


def test_updated_moves_with_each_revision(client: TestClient, db: Database, city: City) -> None:
    def updated() -> str:
        entries = parsed(client, "/feeds/outages.atom").entries
        return next(e.updated for e in entries if e.title.endswith("Upcoming A1"))

    before = updated()
    with db.session() as s:
        outage = s.get(Outage, city.ids["upcoming"])
        assert outage is not None
        revise(
            s,
            outage,
            "extended",
            at=NOW - timedelta(minutes=5),
            end=outage.end_at + timedelta(hours=2),
        )
    assert updated() > before
    titles = {e.title for e in parsed(client, "/feeds/outages.atom").entries}
    assert "已延长：Upcoming A1" in titles
    english = {e.title for e in parsed(client, "/feeds/outages.atom?lang=en").entries}
    assert "EXTENDED: Upcoming A1" in english


def test_the_calendar_feed(client: TestClient, city: City) -> None:
    events = {str(e["summary"]): e for e in calendar(client).walk("VEVENT")}
    assert {untitled(s) for s in events} == WINDOW
    cancelled = events["已取消：Cancelled A1"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert cancelled.decoded("sequence") == 2
    changed = events["已改期：Changed A1+A2"]
    assert str(changed["uid"]) == f"outage-{city.ids['changed']}@outages.example.org"
    assert changed.decoded("dtstart").isoformat() == "2026-12-04T08:00:00+08:00"
    assert changed["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert str(changed["location"]) == "中山路、人民路"
    assert changed["geo"].latitude == pytest.approx(31.235)


@pytest.mark.parametrize("path", ["/feeds/outages.atom", "/feeds/cap.atom"])
@pytest.mark.parametrize(
    "query", ["", "?lang=en", "?utility=water", "?utility=water&area=A1&lang=zh-CN", "?area=A2"]
)
def test_the_atom_feeds_are_valid_and_link_to_the_url_served(
    client: TestClient, city: City, path: str, query: str
) -> None:
    response = client.get(path + query)
    assert response.status_code == 200, response.text
    valid_atom(response.content, served_at=f"https://outages.example.org{path}{query}")


def test_every_cap_alert_of_every_revision_is_valid(client: TestClient, city: City) -> None:
    index = parsed(client, "/feeds/cap.atom")
    assert len(index.entries) == len(WINDOW)
    checked = 0
    for entry in index.entries:
        (link,) = [x for x in entry.links if x.get("type") == "application/cap+xml"]
        outage_id, revision = link.href.rsplit("/", 1)[1].removesuffix(".xml").split("-")
        for number in range(1, int(revision) + 1):
            response = client.get(f"/cap/{outage_id}-{number}.xml")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/cap+xml; charset=utf-8"
            root = valid_alert(response.content)
            assert root.findtext("cap:identifier", namespaces=NS) == (
                f"outage-{outage_id}-{number}@outages.example.org"
            )
            checked += 1
    assert checked == len(WINDOW) + 3  # changed, cancelled and restored have two revisions


def test_a_cap_alert_tells_the_revision_it_was(client: TestClient, city: City) -> None:
    cancelled = city.ids["cancelled"]
    first = valid_alert(client.get(f"/cap/{cancelled}-1.xml").content)
    second = valid_alert(client.get(f"/cap/{cancelled}-2.xml").content)
    assert first.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert second.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert second.findtext("cap:references", namespaces=NS) == (
        f"outage-notify@outages.example.org,outage-{cancelled}-1@outages.example.org,"
        f"{first.findtext('cap:sent', namespaces=NS)}"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/cap/999-1.xml",
        "/cap/1-0.xml",
        "/cap/1-9.xml",
        "/cap/1.xml",
        "/cap/x-1.xml",
        "/cap/1-1.json",
    ],
)
def test_an_unknown_cap_alert_is_404(client: TestClient, city: City, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.text.startswith("Not found")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("utility=gas", {"Gas G1"}),
        ("area=A2", {"Live A2", "Changed A1+A2", "Restored A2"}),
        ("area=A2&area=G1", {"Live A2", "Changed A1+A2", "Restored A2", "Gas G1"}),
        ("utility=water&area=G1", set()),
        ("utility=", WINDOW),
    ],
)
@pytest.mark.parametrize("url", [*FEEDS, "/feeds/cap.atom"])
def test_filters(client: TestClient, city: City, url: str, query: str, expected: set[str]) -> None:
    feed = parsed(client, f"{url}?{query}")
    titles = {e.title.split(": ", 1)[-1].split("：", 1)[-1] for e in feed.entries}
    assert titles == expected


def test_the_calendar_filters_too(client: TestClient, city: City) -> None:
    events = calendar(client, "/feeds/outages.ics?utility=gas").walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["计划停气：Gas G1"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("area=NOPE", "unknown area 'NOPE'"),
        ("utility=steam", "unknown utility 'steam' (use water or gas)"),
        ("lang=fr", "unknown language 'fr' (use zh-CN or en)"),
    ],
)
@pytest.mark.parametrize("url", [*FEEDS, "/feeds/outages.ics", "/feeds/cap.atom"])
def test_an_unknown_filter_value_is_a_400_with_a_reason(
    client: TestClient, city: City, url: str, query: str, message: str
) -> None:
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == f"Bad request: {message}\n"


def test_the_window_moves_with_time(client: TestClient, city: City, clock: Clock) -> None:
    assert "Ended 3 days ago" in entry_titles(client, "/feeds/outages.rss")
    clock.now = NOW + timedelta(days=4, hours=4, seconds=1)  # it ended at NOW - 3 d + 4 h
    titles = entry_titles(client, "/feeds/outages.rss")
    assert "Ended 3 days ago" not in titles
    assert "Upcoming A1" in titles


def test_hostile_text_comes_back_from_every_feed_exactly(client: TestClient, db: Database) -> None:
    from tests.web.factory import add_area

    with db.session() as s:
        add_area(s, "A1")
        outage = add_outage(s, title=HOSTILE, description=HOSTILE)
    title = f"计划停水：{HOSTILE}"

    rss = parsed(client, "/feeds/outages.rss").entries[0]
    assert rss.title == title
    shown = lxml_html.fragment_fromstring(rss.summary, create_parent="div").text_content()
    assert HOSTILE in shown
    assert html.unescape(rss.summary).count("<script>") == 1  # the one in the text, escaped once

    atom = parsed(client, "/feeds/outages.atom").entries[0]
    assert atom.title == title
    assert HOSTILE in atom.summary.split("\n")

    (event,) = calendar(client).walk("VEVENT")
    assert str(event["summary"]) == title
    assert HOSTILE in str(event["description"]).split("\n")

    index = parsed(client, "/feeds/cap.atom").entries[0]
    assert index.title == f"计划停水：{HOSTILE}"
    root = valid_alert(client.get(f"/cap/{outage.id}-1.xml").content)
    for info in root.iterfind("cap:info", NS):
        assert HOSTILE in info.findtext("cap:description", namespaces=NS).split("\n")
        assert info.findtext("cap:headline", namespaces=NS).endswith(HOSTILE)

    items = client.get("/banner.json").json()["outages"]
    assert items[0]["title"] == HOSTILE


CONDITIONAL_URLS = [
    "/feeds/outages.rss",
    "/feeds/outages.atom",
    "/feeds/outages.ics",
    "/feeds/cap.atom",
    "/cap/{changed}-2.xml",
    "/banner.json?area=A1",
    "/banner.js",
]


def first_response(client: TestClient, city: City, url: str):  # type: ignore[no-untyped-def]
    url = url.format(**city.ids)
    response = client.get(url)
    assert response.status_code == 200
    if url.startswith("/cap/"):
        valid_alert(response.content)  # every alert a test produces is checked
    return url, response


# Conditional GET does not depend on the database: SQLite only, to keep the table cheap.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("url", CONDITIONAL_URLS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (lambda etag, modified: {"If-None-Match": etag}, 304),
        (lambda etag, modified: {"If-None-Match": f"W/{etag}"}, 304),
        (lambda etag, modified: {"If-None-Match": f'"other", {etag}'}, 304),
        (lambda etag, modified: {"If-None-Match": "*"}, 304),
        (lambda etag, modified: {"If-None-Match": '"other"'}, 200),
        (lambda etag, modified: {"If-Modified-Since": modified}, 304),
        (lambda etag, modified: {"If-Modified-Since": later(modified)}, 304),
        (lambda etag, modified: {"If-Modified-Since": earlier(modified)}, 200),
        (lambda etag, modified: {"If-Modified-Since": "not a date"}, 200),
        # If-None-Match wins over If-Modified-Since
        (lambda etag, modified: {"If-None-Match": '"other"', "If-Modified-Since": modified}, 200),
    ],
    ids=[
        "etag",
        "weak",
        "list",
        "star",
        "other",
        "ims",
        "ims-later",
        "ims-earlier",
        "ims-bad",
        "both",
    ],
)
def test_conditional_get(client: TestClient, city: City, url: str, headers, status: int) -> None:  # type: ignore[no-untyped-def]
    url, response = first_response(client, city, url)
    etag, modified = response.headers["etag"], response.headers["last-modified"]
    again = client.get(url, headers=headers(etag, modified))
    assert again.status_code == status
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"].endswith("max-age=60") or url == "/banner.js"
    if status == 304:
        assert again.content == b""
    else:
        assert again.content == response.content


def later(http_date: str) -> str:
    return format_datetime(parsedate_to_datetime(http_date) + timedelta(seconds=1), usegmt=True)


def earlier(http_date: str) -> str:
    return format_datetime(parsedate_to_datetime(http_date) - timedelta(seconds=1), usegmt=True)


@pytest.mark.parametrize(
    "url", [u for u in CONDITIONAL_URLS if not u.startswith(("/cap", "/banner.js"))]
)
def test_a_change_in_the_database_is_served_at_once(
    client: TestClient, db: Database, city: City, url: str
) -> None:
    url, response = first_response(client, city, url)
    with db.session() as s:
        outage = s.get(Outage, city.ids["changed"])
        assert outage is not None
        outage.title = "Renamed A1+A2"
        revise(s, outage, "extended", at=NOW, end=outage.end_at + timedelta(hours=1))
    etag, modified = response.headers["etag"], response.headers["last-modified"]
    by_etag = client.get(url, headers={"If-None-Match": etag})
    by_date = client.get(url, headers={"If-Modified-Since": modified})
    assert by_etag.status_code == by_date.status_code == 200
    assert by_etag.headers["etag"] != etag
    # under the fixed test clock the change still gets a later Last-Modified
    assert parsedate_to_datetime(by_date.headers["last-modified"]) > parsedate_to_datetime(modified)


def test_an_earlier_revisions_alert_does_not_change(
    client: TestClient, db: Database, city: City
) -> None:
    url, response = first_response(client, city, "/cap/{changed}-2.xml")
    with db.session() as s:
        outage = s.get(Outage, city.ids["changed"])
        assert outage is not None
        revise(s, outage, "cancelled", at=NOW)
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    latest = valid_alert(client.get(url.replace("-2.xml", "-3.xml")).content)
    assert latest.findtext("cap:msgType", namespaces=NS) == "Cancel"


def test_an_unrelated_change_keeps_the_validators(
    client: TestClient, db: Database, city: City, clock: Clock
) -> None:
    response = client.get("/feeds/outages.rss?utility=gas")
    with db.session() as s:
        outage = s.get(Outage, city.ids["upcoming"])
        assert outage is not None
        revise(s, outage, "extended", at=NOW, end=outage.end_at + timedelta(hours=1))
    clock.now = NOW + timedelta(seconds=30)
    again = client.get("/feeds/outages.rss?utility=gas")
    assert again.headers["etag"] == response.headers["etag"]
    assert again.headers["last-modified"] == response.headers["last-modified"]


def test_a_document_changed_by_time_alone_gets_new_validators(
    client: TestClient, city: City, clock: Clock
) -> None:
    url = f"/cap/{city.ids['gas']}-1.xml"
    response = client.get(url)
    clock.now = NOW + timedelta(hours=29, minutes=30)  # within the hour of the gas work
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 200
    urgency = valid_alert(again.content).findtext("cap:info/cap:urgency", namespaces=NS)
    assert urgency == "Expected"


@pytest.mark.parametrize(
    "url", ["/feeds/outages.rss", "/feeds/cap.atom", "/banner.json", "/banner.js"]
)
def test_head_is_answered(client: TestClient, city: City, url: str) -> None:
    response = client.head(url)
    assert response.status_code == 200
    assert response.headers["etag"] == client.get(url).headers["etag"]


def test_an_rss_channel_links_to_the_list_page(client: TestClient, city: City) -> None:
    root = etree.fromstring(client.get("/feeds/outages.rss?area=A1").content)
    assert root.findtext("channel/link") == "https://outages.example.org/?area=A1"
    feed = parsed(client, "/feeds/outages.rss?area=A1&lang=en")
    assert feed.feed.title == "Planned water and gas shutoffs (Zhongshan Rd)"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_client_that_takes_gzip_gets_it_with_its_own_validator(
    client: TestClient, city: City
) -> None:
    plain = client.get("/feeds/outages.rss", headers={"Accept-Encoding": "identity"})
    packed = client.get("/feeds/outages.rss", headers={"Accept-Encoding": "gzip, br"})
    refused = client.get("/feeds/outages.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert "content-encoding" not in refused.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # decoded by the client
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.headers["etag"] != plain.headers["etag"]
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    again = client.get(
        "/feeds/outages.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
    )
    assert again.status_code == 304
    assert "content-encoding" not in again.headers
    tiny = client.get("/banner.json?area=G1", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tiny.headers  # too small to be worth it
