"""``POST /affected``: "am I affected?" by location and by account number, and bad input."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from outage_notify.db import Database
from outage_notify.models import AuditEvent, Customer, ServiceArea
from tests.factories import add_customer
from tests.web.factory import City

INSIDE_A1 = {"latitude": "31.235", "longitude": "121.475"}


def answer(response_text: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(response_text)


def test_a_location_names_its_areas_lists_the_outages_and_offers_exactly_those(
    client: TestClient, city: City
) -> None:
    response = client.post("/affected?lang=en", data=INSIDE_A1)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    root = answer(response.text)
    assert root.xpath("//ul[@id='lookup-areas']/li/@data-area") == ["A1"]
    assert "Zhongshan Rd" in root.xpath("string(//ul[@id='lookup-areas'])")
    titles = [t.strip() for t in root.xpath("//ul[@id='lookup-outages']//h3/a/text()")]
    # Planned and not ended, in A1: neither the cancelled one nor those that ended.
    assert titles == ["Upcoming A1", "Changed A1+A2"]
    link = root.xpath("//a[@id='lookup-subscribe']/@href")[0]
    assert link == "/subscribe?area=A1&lang=en"


def test_a_location_outside_every_area_says_so(client: TestClient, city: City) -> None:
    response = client.post("/affected?lang=en", data={"latitude": "0", "longitude": "0"})
    assert response.status_code == 200
    assert "outside every service area" in response.text
    assert "lookup-subscribe" not in response.text


@pytest.mark.parametrize(
    ("latitude", "longitude", "problem"),
    [
        ("", "121.4", "latitude is missing"),
        ("31.2", None, "longitude is missing"),
        ("north", "121.4", "latitude is not a number"),
        ("nan", "121.4", "latitude is not a number"),
        ("1e999", "121.4", "latitude is not a number"),
        ("91", "121.4", "latitude must be within -90..90"),
        ("31.2", "-180.5", "longitude must be within -180..180"),
        ("3" * 40, "121.4", "latitude is not a number"),
    ],
)
def test_bad_coordinates_get_a_clear_answer(
    client: TestClient, city: City, latitude: str, longitude: str | None, problem: str
) -> None:
    data = {"latitude": latitude} | ({"longitude": longitude} if longitude is not None else {})
    response = client.post("/affected?lang=en", data=data)
    assert response.status_code == 422
    assert problem in response.text
    assert "lookup-areas" not in response.text


def test_an_account_with_outages_gets_its_areas_and_no_personal_data(
    client: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(
            s,
            "ACC-1",
            name="王小明",
            phone="+8613800000001",
            email="w@example.org",
            address="中山路 1 号",
            water_area="A2",
            gas_area="G1",
        )
    response = client.post("/affected?lang=en", data={"account": " ACC-1 "})
    assert response.status_code == 200
    root = answer(response.text)
    assert root.xpath("//ul[@id='lookup-areas']/li/@data-area") == ["G1", "A2"]
    for private in ["王小明", "8613800000001", "w@example.org", "中山路 1 号", "ACC-1"]:
        assert private not in response.text


def test_an_account_matched_by_its_premise_location(
    client: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(s, "ACC-2", phone="+8613800000002", latitude=31.235, longitude=121.475)
    root = answer(client.post("/affected?lang=en", data={"account": "ACC-2"}).text)
    assert root.xpath("//ul[@id='lookup-areas']/li/@data-area") == ["A1"]


def test_an_unknown_account_and_one_without_outages_answer_the_same(
    client: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(s, "QUIET-1", phone="+8613800000003", water_area="A9")
    quiet = client.post("/affected?lang=en", data={"account": "QUIET-1"})
    unknown = client.post("/affected?lang=en", data={"account": "NOSUCH-1"})
    assert quiet.status_code == unknown.status_code == 200

    def body(text: str) -> str:
        return lxml_html.tostring(answer(text).xpath("//main")[0], encoding="unicode")

    assert body(quiet.text) == body(unknown.text)
    assert "No current or upcoming shutoffs found for this account number" in quiet.text


@pytest.mark.parametrize("account", ["", "   ", "x" * 65])
def test_an_empty_or_overlong_account_number(client: TestClient, city: City, account: str) -> None:
    response = client.post("/affected?lang=en", data={"account": account})
    if account.strip():  # too long: answered as an unknown account, never echoed
        assert response.status_code == 200
        assert account not in response.text
    else:
        assert response.status_code == 422
        assert "Enter the account number" in response.text


def test_a_flood_of_lookups_is_throttled(client: TestClient, city: City) -> None:
    statuses = [
        client.post("/affected?lang=en", data={"account": f"GUESS-{i}"}).status_code
        for i in range(40)
    ]
    assert 429 in statuses
    refused = client.post("/affected?lang=en", data={"account": "GUESS-X"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many look-ups" in refused.text


def test_nothing_of_a_lookup_is_stored_or_logged(
    client: TestClient, city: City, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with db.read() as s:
        before = (s.query(AuditEvent).count(), s.query(Customer).count())
    with caplog.at_level(logging.DEBUG):
        client.post("/affected", data=INSIDE_A1)
        client.post("/affected", data={"account": "SECRET-ACCOUNT"})
    assert "121.475" not in caplog.text
    assert "SECRET-ACCOUNT" not in caplog.text
    with db.read() as s:
        assert (s.query(AuditEvent).count(), s.query(Customer).count()) == before


def test_the_lookup_is_on_the_home_page_each_outage_page_and_subscribe(
    client: TestClient, city: City
) -> None:
    for url in ["/", f"/outages/{city.ids['upcoming']}", "/subscribe"]:
        root = answer(client.get(url).text)
        assert root.xpath("//form[@id='locate-form']/@action") == ["/affected?lang=zh-CN"], url
        assert root.xpath("//input[@name='account']"), url


def test_area_lists_follow_the_reading_order_and_show_the_streets(
    client: TestClient, db: Database
) -> None:
    from tests.web.factory import add_area

    with db.session() as s:
        for code, name, name_en in [
            ("Z1", "中山路", "Zhongshan Rd"),
            ("X1", "学府供水压力区", "Xuefu pressure zone"),
            ("D1", "东风路", "Dongfeng Rd"),
        ]:
            add_area(s, code, name=name, name_en=name_en)
        s.get_one(ServiceArea, 1).description = "东风路1-99号, 和平街"
    zh = answer(client.get("/subscribe?lang=zh-CN").text)
    assert zh.xpath("//input[@name='area']/@value") == ["D1", "X1", "Z1"]
    assert zh.xpath("string(//span[@class='streets'])") == "东风路1-99号, 和平街"
    en = answer(client.get("/subscribe?lang=en").text)
    assert en.xpath("//input[@name='area']/@value") == ["D1", "X1", "Z1"]
    index = answer(client.get("/?lang=zh-CN").text)
    assert index.xpath("//select[@name='area']/option/@value") == ["", "D1", "X1", "Z1"]


def test_a_control_character_in_an_account_number_is_no_500(client: TestClient, city: City) -> None:
    response = client.post("/affected?lang=en", data={"account": "ACC\x00-1"})
    assert response.status_code == 200
    assert "No current or upcoming shutoffs found" in response.text
