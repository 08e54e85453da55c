"""``/outages/{id}/nowater``: the outage page's "still no water?" form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import NoWaterReport
from outage_notify.settings import Settings
from tests.factories import add_customer
from tests.web.factory import City
from tests.web.test_subscribe import field


def post(
    client: TestClient, outage_id: int, account: str, token: str | None = None, form: int = 0
) -> Any:
    url = f"/outages/{outage_id}/nowater?lang=en"
    page = f"/outages/{form or outage_id}/nowater?lang=en"
    token = token if token is not None else field(client.get(page).text, "csrf_token")
    return client.post(url, data={"csrf_token": token, "account": account})


def sms_sent(settings: Settings) -> list[dict[str, str]]:
    path = Path(settings.sms.file_path)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_restored_outage_page_links_the_form(client: TestClient, city: City) -> None:
    page = client.get(f"/outages/{city.ids['restored']}?lang=en").text
    assert f"/outages/{city.ids['restored']}/nowater?lang=en" in page
    planned = client.get(f"/outages/{city.ids['upcoming']}?lang=en").text
    assert "/nowater" not in planned


def test_a_report_is_filed_for_the_premise_and_acknowledged_by_sms(
    client: TestClient, city: City, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        customer = add_customer(s, "ACC-9", phone="+8613800000009", water_area="A2", language="en")
    response = post(client, city.ids["restored"], "ACC-9")
    assert response.status_code == 200
    assert "your report is in" in response.text
    assert "ACC-9" not in response.text
    with db.read() as s:
        report = s.exec(select(NoWaterReport)).one()
        assert (report.outage_id, report.area_code, report.source) == (
            city.ids["restored"],
            "A2",
            "web",
        )
        assert report.customer_id == customer.id
    sent = sms_sent(settings)
    assert [m["to"] for m in sent] == ["+8613800000009"]
    assert "hotline 12319" in sent[0]["body"]
    post(client, city.ids["restored"], "ACC-9")  # again: acknowledged on the page, no 2nd SMS
    assert len(sms_sent(settings)) == 1


def test_an_unknown_account_and_one_elsewhere_get_the_same_answer(
    client: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(s, "ELSEWHERE", phone="+8613800000010", water_area="A1")
    elsewhere = post(client, city.ids["restored"], "ELSEWHERE")
    unknown = post(client, city.ids["restored"], "NO-SUCH")
    assert elsewhere.status_code == unknown.status_code == 422
    assert "could not tie this account number" in unknown.text
    with db.read() as s:
        assert s.exec(select(NoWaterReport)).all() == []


def test_a_planned_outage_takes_no_report(client: TestClient, city: City) -> None:
    url = f"/outages/{city.ids['upcoming']}/nowater?lang=en"
    assert "not marked as restored" in client.get(url).text
    response = post(client, city.ids["upcoming"], "ACC-1", form=city.ids["restored"])
    assert response.status_code == 409


def test_a_post_without_the_form_token_is_refused(
    client: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(s, "ACC-9", phone="+8613800000009", water_area="A2")
    response = post(client, city.ids["restored"], "ACC-9", token="forged")
    assert response.status_code == 403
    with db.read() as s:
        assert s.exec(select(NoWaterReport)).all() == []


def test_bad_outage_ids_are_not_found(client: TestClient, city: City) -> None:
    for bad in ["x", "99999", "1" * 30]:
        assert client.get(f"/outages/{bad}/nowater").status_code == 404
