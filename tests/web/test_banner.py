from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from channels.banner import BANNER_JS
from outage_notify.db import Database
from tests.web.conftest import Clock
from tests.web.factory import HOSTILE, NOW, City, add_area, add_outage


def ids(client: TestClient, query: str = "") -> list[int]:
    response = client.get(f"/banner.json{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["outages"]]


def test_the_banner_shows_what_an_area_should_see_now(client: TestClient, city: City) -> None:
    # A1: upcoming (in 2 days), cancelled (its time in 2 days), changed (in 3 days: 72 h edge).
    assert ids(client, "?area=A1") == [
        city.ids["upcoming"],
        city.ids["cancelled"],
        city.ids["changed"],
    ]
    # A2: under way first, then the changed one; the restoration was 2 days ago.
    assert ids(client, "?area=A2") == [city.ids["live"], city.ids["changed"]]
    assert ids(client, "?area=G1") == [city.ids["gas"]]


def test_without_an_area_the_banner_has_every_area(client: TestClient, city: City) -> None:
    assert set(ids(client)) == {
        city.ids[k] for k in ("upcoming", "cancelled", "changed", "live", "gas")
    }


def test_the_banner_moves_with_time(client: TestClient, city: City, clock: Clock) -> None:
    clock.now = NOW + timedelta(hours=7)  # "Live A2" ended at NOW + 5 h
    assert ids(client, "?area=A2") == [city.ids["changed"]]


def test_a_banner_item(client: TestClient, city: City) -> None:
    body = client.get("/banner.json?area=A2").json()
    assert body["area"] == "A2"
    assert body["hotline"] == "12319"
    item = body["outages"][0]
    assert item["state"] == "PLANNED"
    assert item["active"] is True
    assert item["start"] == "2026-12-01T07:00:00+08:00"
    assert item["end"] == "2026-12-01T13:00:00+08:00"
    assert item["url"] == f"https://outages.example.org/outages/{city.ids['live']}"
    assert item["text"] == {
        "zh-CN": "计划停水：12月1日(周二) 07:00-13:00，人民路。热线 12319。",
        "en": "Planned water shutoff: Tue 1 Dec 07:00-13:00, Renmin Rd. Hotline 12319.",
    }


def test_an_unknown_area_is_a_400(client: TestClient, city: City) -> None:
    response = client.get("/banner.json?area=ZZ")
    assert response.status_code == 400
    assert response.json() == {"error": "unknown area 'ZZ'"}
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("url", ["/banner.json?area=A1", "/banner.js"])
def test_the_banner_is_open_to_every_origin(client: TestClient, city: City, url: str) -> None:
    response = client.get(url, headers={"Origin": "https://city-water.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    cached = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304
    assert cached.headers["access-control-allow-origin"] == "*"


def test_the_script_is_served_as_javascript(client: TestClient) -> None:
    response = client.get("/banner.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == BANNER_JS
    assert len(response.content) < 5 * 1024


def test_the_iframe_page_shows_the_same_outages(client: TestClient, city: City) -> None:
    response = client.get("/banner?area=A2&lang=en")
    assert response.status_code == 200
    page = lxml_html.fromstring(response.text)
    items = page.xpath("//*[@role='status']//div[contains(@class, 'item')]/p/strong")
    assert [i.text_content() for i in items] == ["Live A2", "Changed A1+A2"]
    assert "frame-ancestors" not in response.headers["content-security-policy"]
    assert page.xpath("//a[not(starts-with(@href, 'tel:'))]")[0].get("target") == "_top"
    assert page.xpath("//p/a[starts-with(@href, 'tel:')]/@href")[0] == "tel:12319"


def test_the_iframe_page_says_when_nothing_is_planned(client: TestClient, city: City) -> None:
    response = client.get("/banner?area=G1&lang=en", headers={})
    assert "Gas G1" in response.text
    empty = client.get("/banner?area=A1&lang=en")
    assert empty.status_code == 200
    city_free = client.get("/banner?area=ZZ")
    assert city_free.status_code == 400


def test_hostile_text_is_shown_literally_in_the_iframe_page(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        add_area(s, "A1")
        add_outage(s, title=HOSTILE, start=NOW + timedelta(hours=3))
    response = client.get("/banner?area=A1")
    assert "<script>alert(1)</script>" not in response.text
    assert "<img src=x" not in response.text
    page = lxml_html.fromstring(response.text)
    assert page.xpath("//strong")[0].text_content() == HOSTILE
    assert not page.xpath("//script | //img")
