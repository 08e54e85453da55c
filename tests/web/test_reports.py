"""The public annual report page: aggregates only, zh-CN and en, clear errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outage_notify.db import Database
from outage_notify.settings import Settings
from outage_notify.web.app import create_app
from tests.factories import add_customer
from tests.report_seeds import BACKENDS, module_database, seed_year, utc

# Distinctive personal data, seeded beside the year's customers: none of it may show.
PEOPLE = [
    ("ACCT-7731", "Zebulon Quuxley", "42 Hidden Lane", "+8613512345678", "zq.private@mail.example"),
    ("ACCT-7732", "欧阳明月", "幸福路88号", "+8618687654321", "ouyang.mingyue@mail.example"),
]
PHONE = re.compile(r"\+?\d{7,}")  # an E.164 or national number: no figure on the page is so long
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _settings(**values: Any) -> Settings:
    return Settings(web={"secret_key": "test-secret-key"}, **values)


@pytest.fixture(scope="module", params=BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with module_database(request, tmp_path_factory) as db:
        with db.session() as s:
            for account, name, address, phone, email in PEOPLE:
                add_customer(
                    s,
                    account,
                    name=name,
                    address=address,
                    phone=phone,
                    email=email,
                    water_area="W1",
                )
        seed_year(db)
        yield TestClient(create_app(_settings(), db, clock=lambda: utc(2027, 2, 1)))


def test_the_page_shows_the_years_figures(client: TestClient) -> None:
    response = client.get("/reports/2026?lang=en")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert "2026: how residents were told about planned shutoffs" in html
    # W1 now has 6 premises (the two people above too).
    assert "54.0 h" in html  # water's estimate: OG 6 x 1, OA 6 x 5, OB 6 x 2, OE 6 x 1
    assert "39.0 h" in html  # median lead of the first notice
    assert "60.0% (3/5)" in html  # met the 24-hour minimum
    # email success: the seed's 12 of 13, and the two people's emails on 5 W1 notices.
    assert "95.7%" in html  # 22 of 23
    # The site's layout and stylesheet, and no script but our own files.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<link rel="stylesheet" href="/static/site.css">' in html


def test_the_page_holds_no_personal_data(client: TestClient) -> None:
    for language in ("en", "zh-CN"):
        html = client.get(f"/reports/2026?lang={language}").text
        assert PHONE.findall(html) == []
        assert EMAIL.search(html) is None
        for account, name, address, phone, email in PEOPLE:
            for value in (account, name, address, phone, phone[3:], email):
                assert value not in html
        for account in ("W-1", "W-2", "G-1"):
            assert f">{account}<" not in html


def test_the_page_speaks_chinese_by_default_and_by_accept_language(client: TestClient) -> None:
    default = client.get("/reports/2026").text
    assert '<html lang="zh-CN">' in default
    assert "2026年停水停气通知年度报告" in default
    assert "用户停供小时数" in default
    english = client.get("/reports/2026", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert '<html lang="en">' in english
    explicit = client.get("/reports/2026?lang=zh", headers={"Accept-Language": "en"}).text
    assert '<html lang="zh-CN">' in explicit


@pytest.mark.parametrize(
    ("year", "status", "message"),
    [
        ("2024", 404, "There is no report for 2024: no planned shutoff started that year."),
        ("2031", 404, "There is no report for 2031"),
        ("1800", 400, "“1800” is not a year we can report on (use 1970–9998)."),
        ("20266", 400, "“20266” is not a year"),
        ("last-year", 400, "“last-year” is not a year"),
    ],
)
def test_an_unknown_or_out_of_range_year_is_a_clear_error(
    client: TestClient, year: str, status: int, message: str
) -> None:
    response = client.get(f"/reports/{year}?lang=en")
    assert response.status_code == status
    assert message in response.text
    assert 'href="/reports/2026?lang=en"' in response.text  # the years that have a report


def test_what_comes_from_the_url_is_escaped(client: TestClient) -> None:
    response = client.get("/reports/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E?lang=en")
    assert response.status_code == 400
    assert "<img" not in response.text
    assert "“&lt;img src=x onerror=alert(1)&gt;” is not a year" in response.text


def test_the_index_lists_the_years_with_a_report(client: TestClient) -> None:
    html = client.get("/reports?lang=en").text
    links = re.findall(r'href="/reports/(\d{4})\?lang=en"', html)
    assert links == ["2027", "2026", "2025"]


def test_an_unknown_word_shows_as_itself() -> None:
    from outage_notify.web.reports import report_word

    assert report_word("en", "report_source_carrier_portal") == "carrier_portal"
    assert report_word("en", "report_source_sms") == "SMS reply"
    assert report_word("zh-CN", "report_source_sms") == "短信回复"


def test_no_report_yet(db: Database) -> None:
    client = TestClient(create_app(_settings(), db, clock=lambda: utc(2027, 2, 1)))
    assert "No reports yet." in client.get("/reports?lang=en").text
    assert client.get("/reports/2026").status_code == 404


def test_links_keep_the_public_urls_path(db: Database) -> None:
    settings = _settings(public_url="https://city.example/outages")
    client = TestClient(create_app(settings, db, clock=lambda: utc(2027, 2, 1)))
    html = client.get("/reports?lang=en").text
    assert 'href="/outages/reports?lang=zh-CN"' in html


def test_a_years_figures_are_kept_ten_minutes(db: Database) -> None:
    from datetime import timedelta

    from outage_notify.models import InboundMessage

    seed_year(db)
    clock = [utc(2027, 2, 1)]
    client = TestClient(create_app(_settings(), db, clock=lambda: clock[0]))
    stops = re.compile(r"<th>STOP</th><td class=\"n\">(\d+)</td>")

    def shown() -> str:
        match = stops.search(client.get("/reports/2026?lang=en").text)
        assert match is not None
        return match.group(1)

    assert shown() == "2"
    with db.session() as s:
        s.add(
            InboundMessage(
                from_address="+8613600000009",
                body="STOP",
                keyword="stop",
                received_at=utc(2026, 6, 6),
            )
        )
    clock[0] += timedelta(minutes=9)
    assert shown() == "2"  # computed once, shown for ten minutes
    clock[0] += timedelta(minutes=2)
    assert shown() == "3"
