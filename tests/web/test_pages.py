from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from outage_notify.db import Database
from outage_notify.models import Outage
from tests.web.conftest import Clock
from tests.web.factory import HOSTILE, NOW, City, add_area, add_outage, revise


def page(client: TestClient, url: str, status: int = 200, **headers: str) -> lxml_html.HtmlElement:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return lxml_html.fromstring(response.text)


def section_titles(root: lxml_html.HtmlElement, key: str) -> list[str]:
    return [a.text_content() for a in root.xpath(f"//section[@aria-labelledby='h-{key}']//h3/a")]


def test_the_list_has_current_upcoming_and_recent_outages(client: TestClient, city: City) -> None:
    root = page(client, "/?lang=en")
    assert section_titles(root, "current") == ["Live A2"]
    assert section_titles(root, "upcoming") == ["Gas G1", "Upcoming A1", "Changed A1+A2"]
    assert section_titles(root, "recent") == ["Restored A2", "Cancelled A1", "Ended 3 days ago"]
    assert root.xpath("//h1")[0].text_content() == "Planned water and gas shutoffs"


@pytest.mark.parametrize(
    ("query", "current", "upcoming"),
    [
        ("utility=gas", [], ["Gas G1"]),
        ("area=A2", ["Live A2"], ["Changed A1+A2"]),
        ("utility=water&area=A1", [], ["Upcoming A1", "Changed A1+A2"]),
        ("utility=&area=", ["Live A2"], ["Gas G1", "Upcoming A1", "Changed A1+A2"]),
    ],
)
def test_the_list_filters(
    client: TestClient, city: City, query: str, current: list[str], upcoming: list[str]
) -> None:
    root = page(client, f"/?{query}")
    assert section_titles(root, "current") == current
    assert section_titles(root, "upcoming") == upcoming


def test_the_filter_form_keeps_the_choice(client: TestClient, city: City) -> None:
    root = page(client, "/?utility=gas&area=G1&lang=en")
    assert root.xpath("//select[@name='utility']/option[@selected]/@value") == ["gas"]
    assert root.xpath("//select[@name='area']/option[@selected]/@value") == ["G1"]
    options = root.xpath("//select[@name='area']/option/@value")
    # Water (Renmin Rd, Zhongshan Rd), then gas (Nanjing Rd), each in reading order.
    assert options == ["", "A2", "A1", "G1"]


def test_an_unknown_filter_is_a_400_page(client: TestClient, city: City) -> None:
    root = page(client, "/?area=Q9&lang=en", status=400)
    assert root.xpath("//p[@class='error']")[0].text_content() == "unknown area 'Q9'"


def test_feed_links_follow_the_filter_and_language(client: TestClient, city: City) -> None:
    root = page(client, "/?area=A1&lang=en")
    links = dict(
        zip(
            root.xpath("//ul[@class='feed-links']//a/text()"),
            root.xpath("//ul[@class='feed-links']//a/@href"),
            strict=True,
        )
    )
    assert links["RSS"] == "https://outages.example.org/feeds/outages.rss?area=A1&lang=en"
    assert (
        links["Add to calendar"] == "webcal://outages.example.org/feeds/outages.ics?area=A1&lang=en"
    )
    zh = page(client, "/?area=A1&lang=zh-CN")
    assert "https://outages.example.org/feeds/outages.rss?area=A1" in zh.xpath(
        "//ul[@class='feed-links']//a/@href"
    )


@pytest.mark.parametrize(
    ("url", "headers", "language"),
    [
        ("/", {}, "zh-CN"),
        ("/?lang=en", {}, "en"),
        ("/?lang=zh-CN", {"Accept-Language": "en"}, "zh-CN"),
        ("/", {"Accept-Language": "en-US,en;q=0.9"}, "en"),
        ("/", {"Accept-Language": "fr-FR, en;q=0.5, zh;q=0.8"}, "zh-CN"),
        ("/", {"Accept-Language": "zh-TW"}, "zh-CN"),
        ("/", {"Accept-Language": "de, fr"}, "zh-CN"),
        ("/?lang=klingon", {"Accept-Language": "en"}, "en"),
    ],
)
def test_the_page_language(
    client: TestClient, city: City, url: str, headers: dict[str, str], language: str
) -> None:
    response = client.get(url, headers=headers)
    assert lxml_html.fromstring(response.text).get("lang") == language
    # The home page is cached, and may be gzipped: both negotiations vary it.
    assert "Accept-Language" in {v.strip() for v in response.headers["vary"].split(",")}


def test_the_language_switch_keeps_the_filters(client: TestClient, city: City) -> None:
    root = page(client, "/?area=A1&lang=zh-CN")
    assert root.xpath("//nav[@class='languages']/a/@href") == [
        "/?area=A1&lang=zh-CN",
        "/?area=A1&lang=en",
    ]


def test_an_outage_page(client: TestClient, city: City) -> None:
    root = page(client, f"/outages/{city.ids['changed']}?lang=en")
    assert root.xpath("//h1")[0].text_content() == "Changed A1+A2"
    facts = dict(
        zip(
            [d.text_content() for d in root.xpath("//dl[@class='facts']/dt")],
            [d.text_content().strip() for d in root.xpath("//dl[@class='facts']/dd")],
            strict=True,
        )
    )
    assert facts["When"] == "Fri 4 Dec 08:00-13:00 (UTC+08:00)"
    assert facts["Areas"] == "Zhongshan Rd, Renmin Rd"
    assert facts["Status"] == "Changed"
    history = [
        [td.text_content() for td in tr.xpath("td")]
        for tr in root.xpath("//table[@class='history']/tbody/tr")
    ]
    assert history == [
        ["2", "Rescheduled", "Mon 30 Nov 08:00", "Fri 4 Dec 08:00-13:00", ""],
        ["1", "Announced", "Sat 28 Nov 08:00", "Thu 3 Dec 08:00-12:00", ""],
    ]
    hrefs = root.xpath("//a/@href")
    assert "webcal://outages.example.org/feeds/outages.ics?area=A1&area=A2&lang=en" in hrefs
    assert f"https://outages.example.org/cap/{city.ids['changed']}-2.xml" in hrefs


def test_the_map_draws_each_area_from_its_polygon(client: TestClient, city: City) -> None:
    root = page(client, f"/outages/{city.ids['changed']}?lang=en")
    (svg,) = root.xpath("//figure[@class='map']/svg")
    paths = svg.xpath("path")
    assert [p.get("data-area") for p in paths] == ["A1", "A2"]
    assert [p.xpath("title")[0].text_content() for p in paths] == ["Zhongshan Rd", "Renmin Rd"]
    for path in paths:
        d = path.get("d")
        assert d.startswith("M")
        assert d.endswith("Z")
        assert d.count("L") == 4  # the closed square: five points
    view = [float(v) for v in svg.get("viewbox").split()]
    # two squares side by side: wider than high
    assert view[2] > view[3] > 0


def test_an_outage_without_geometry_says_so(client: TestClient, db: Database) -> None:
    with db.session() as s:
        outage = add_outage(s, areas=["GONE"])
    root = page(client, f"/outages/{outage.id}?lang=en")
    assert not root.xpath("//svg")
    assert "No map is available" in root.xpath("//figure")[0].text_content()
    # the area is gone from the service areas: no feed link that would answer 400
    assert "https://outages.example.org/feeds/outages.rss?lang=en" in root.xpath("//a/@href")


def test_cancelled_outage_shows_its_reason(client: TestClient, city: City) -> None:
    root = page(client, f"/outages/{city.ids['cancelled']}?lang=en")
    assert "Cancelled · Reason: Crew unavailable" in root.text_content()


def test_an_old_outage_still_has_its_page(client: TestClient, city: City) -> None:
    root = page(client, f"/outages/{city.ids['old']}?lang=en")
    assert root.xpath("//h1")[0].text_content() == "Ended 8 days ago"


@pytest.mark.parametrize(
    "path", ["/outages/999", "/outages/abc", "/outages/-1", "/outages/" + "9" * 40]
)
def test_an_unknown_outage_is_a_404_page(client: TestClient, city: City, path: str) -> None:
    root = page(client, path + "?lang=en", status=404)
    assert root.xpath("//h1")[0].text_content() == "Not found"


def test_hostile_text_is_shown_literally(client: TestClient, db: Database) -> None:
    with db.session() as s:
        add_area(s, "A1")
        outage = add_outage(s, title=HOSTILE, description=HOSTILE)
    for url in ["/", f"/outages/{outage.id}"]:
        response = client.get(url)
        assert "<script>alert(1)</script>" not in response.text
        assert "<img src=x" not in response.text
        root = lxml_html.fromstring(response.text)
        # The only script is our own "use my location" file.
        assert root.xpath("//script/@src") == ["/static/lookup.js"]
        assert not root.xpath("//script[not(@src)] | //img | //*[@onerror]")
        assert HOSTILE in [e.text_content() for e in root.xpath("//h1 | //h3")]
    detail = lxml_html.fromstring(client.get(f"/outages/{outage.id}").text)
    assert detail.xpath("//dd[@class='description']")[0].text_content() == HOSTILE
    assert detail.xpath("//title")[0].text_content().startswith(HOSTILE)


@pytest.mark.parametrize("url", ["/", "/outages/{changed}", "/banner?area=A1"])
def test_pages_are_mobile_friendly_and_use_no_outside_asset(
    client: TestClient, city: City, url: str
) -> None:
    response = client.get(url.format(**city.ids))
    root = lxml_html.fromstring(response.text)
    assert root.xpath("//meta[@name='viewport']/@content") == [
        "width=device-width, initial-scale=1"
    ]
    assets = root.xpath("//link[@rel='stylesheet']/@href | //script/@src | //img/@src")
    assert assets
    for asset in assets:
        assert not urlsplit(asset).netloc, asset
        assert client.get(asset).status_code == 200
    # Our own script files at most ("use my location"); the framed banner runs none.
    expected = "'none'" if url.startswith("/banner") else "'self'"
    assert f"script-src {expected}" in response.headers["content-security-policy"]


def test_the_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media" in response.text


def test_pages_link_under_the_public_url_path(tmp_path, db: Database, config_values) -> None:  # type: ignore[no-untyped-def]
    from outage_notify.settings import load_settings
    from outage_notify.web.app import create_app
    from tests.conftest import write_config

    config_values["public_url"] = "https://city.example/outages"
    settings = load_settings(write_config(tmp_path / "c.toml", config_values), environ={})
    client = TestClient(create_app(settings, db))
    root = lxml_html.fromstring(client.get("/?lang=en").text)
    assert root.xpath("//link[@rel='stylesheet']/@href") == ["/outages/static/site.css"]
    assert root.xpath("//a[@class='site-name']/@href") == ["/outages/"]
    assert "https://city.example/outages/feeds/outages.rss?lang=en" in root.xpath("//a/@href")


def test_the_cached_home_page_follows_a_change_in_the_database(
    client: TestClient, db: Database, city: City
) -> None:
    first = client.get("/?lang=en")
    assert (
        client.get("/?lang=en", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    )
    with db.session() as s:
        outage = s.get(Outage, city.ids["upcoming"])
        assert outage is not None
        outage.title = "Renamed A1"
        revise(s, outage, "extended", at=NOW, end=outage.end_at + timedelta(hours=1))
    again = client.get("/?lang=en", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "Renamed A1" in section_titles(lxml_html.fromstring(again.text), "upcoming")


def test_the_cached_home_page_moves_with_time(client: TestClient, city: City, clock: Clock) -> None:
    assert "Live A2" in section_titles(page(client, "/?lang=en"), "current")
    clock.now = NOW + timedelta(hours=5, seconds=1)  # Live A2 ended at NOW + 5 h
    root = page(client, "/?lang=en")
    assert section_titles(root, "current") == []
    assert "Live A2" in section_titles(root, "recent")


def test_the_cached_home_page_is_per_language_and_filter(client: TestClient, city: City) -> None:
    english, chinese = page(client, "/?lang=en"), page(client, "/?lang=zh-CN")
    assert (english.get("lang"), chinese.get("lang")) == ("en", "zh-CN")
    assert section_titles(page(client, "/?utility=gas"), "upcoming") == ["Gas G1"]
    assert len(section_titles(page(client, "/"), "upcoming")) == 3
