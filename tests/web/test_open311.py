"""Open311 GeoReport v2 conformance of the documented endpoints and fields (docs/web.md):
the service list, requests GET (list, filters, one) and POST (api_key), and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import NoWaterReport
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
from tests.conftest import write_config
from tests.factories import add_customer
from tests.web.conftest import Clock
from tests.web.factory import City

KEY = "open311-test-key"
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
INSIDE_A2 = {"lat": "31.235", "long": "121.495"}  # the city's A2, restored 43 h before NOW


@pytest.fixture
def keyed(tmp_path: Path, config_values: dict[str, Any], db: Database, clock: Clock) -> TestClient:
    config_values["web"]["open311_api_key"] = KEY
    settings = load_settings(write_config(tmp_path / "o311.toml", config_values), environ={})
    return TestClient(create_app(settings, db, clock=clock))


def filed(client: TestClient, **data: str) -> Any:
    return client.post("/open311/v2/requests.json", data={"api_key": KEY, **data})


def test_the_service_list(client: TestClient) -> None:
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    services = response.json()
    assert [s["service_code"] for s in services] == ["nowater", "planned_outage"]
    for service in services:
        assert set(service) == SERVICE_FIELDS
        assert service["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(service["metadata"], bool)
        assert isinstance(service["keywords"], str)


def test_planned_outages_are_listed_as_service_notices(client: TestClient, city: City) -> None:
    requests = client.get("/open311/v2/requests.json?service_code=planned_outage&lang=en").json()
    assert requests
    by_id = {r["service_request_id"]: r for r in requests}
    upcoming = by_id[f"outage-{city.ids['upcoming']}"]
    assert set(upcoming) == REQUEST_FIELDS
    assert upcoming["status"] == "open"
    assert upcoming["service_code"] == "planned_outage"
    assert "12319" in upcoming["service_notice"]
    assert upcoming["requested_datetime"].endswith("+08:00")
    assert by_id[f"outage-{city.ids['cancelled']}"]["status"] == "closed"
    assert {r["service_code"] for r in requests} == {"planned_outage"}


def test_a_post_files_a_report_served_back_without_personal_data(
    keyed: TestClient, city: City, db: Database
) -> None:
    with db.session() as s:
        add_customer(s, "ACC-5", phone="+8613800000005", water_area="A2", address="人民路 5 号")
    response = filed(
        keyed, service_code="nowater", account_id="ACC-5", description="caller at 人民路 5 号"
    )
    assert response.status_code == 201
    [created] = response.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    request_id = created["service_request_id"]
    assert request_id.startswith("nowater-")
    with db.read() as s:
        report = s.exec(select(NoWaterReport)).one()
        assert (report.outage_id, report.area_code, report.source) == (
            city.ids["restored"],
            "A2",
            "open311",
        )
    one = keyed.get(f"/open311/v2/requests/{request_id}.json").json()
    assert [r["service_request_id"] for r in one] == [request_id]
    assert set(one[0]) == REQUEST_FIELDS
    assert one[0]["status"] == "open"
    assert one[0]["address_id"] == "A2"
    listed = keyed.get("/open311/v2/requests.json?service_code=nowater&status=open").json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    for text in ["ACC-5", "8613800000005", "人民路 5 号", "caller at"]:
        assert text not in keyed.get("/open311/v2/requests.json").text


def test_a_post_by_location_and_a_repeat_by_phone(
    keyed: TestClient, city: City, db: Database
) -> None:
    first = filed(keyed, service_code="nowater", phone="13800000006", **INSIDE_A2)
    second = filed(keyed, service_code="nowater", phone="+8613800000006", **INSIDE_A2)
    assert first.status_code == second.status_code == 201
    assert "reported it already" in second.json()[0]["service_notice"]
    with db.read() as s:
        assert len(s.exec(select(NoWaterReport)).all()) == 1


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"api_key": "wrong", "service_code": "nowater"}, 403, "api_key"),
        ({"service_code": "nowater"}, 403, "api_key"),
        ({"api_key": KEY}, 400, "service_code is required"),
        ({"api_key": KEY, "service_code": "planned_outage", **INSIDE_A2}, 400, "read-only"),
        ({"api_key": KEY, "service_code": "potholes", **INSIDE_A2}, 404, "unknown service_code"),
        ({"api_key": KEY, "service_code": "nowater"}, 400, "give lat and long"),
        ({"api_key": KEY, "service_code": "nowater", "lat": "x", "long": "1"}, 400, "latitude"),
        ({"api_key": KEY, "service_code": "nowater", "lat": "0", "long": "0"}, 400, "nothing to"),
        ({"api_key": KEY, "service_code": "nowater", "account_id": "NOPE"}, 400, "nothing to"),
    ],
)
def test_bad_posts_get_the_error_array(
    keyed: TestClient, city: City, db: Database, data: dict[str, str], status: int, says: str
) -> None:
    response = keyed.post("/open311/v2/requests.json", data=data)
    assert response.status_code == status
    [error] = response.json()
    assert error["code"] == status
    assert says in error["description"]
    with db.read() as s:
        assert s.exec(select(NoWaterReport)).all() == []


def test_without_a_key_configured_post_is_off(client: TestClient, city: City) -> None:
    response = client.post(
        "/open311/v2/requests.json", data={"api_key": "", "service_code": "nowater", **INSIDE_A2}
    )
    assert response.status_code == 403
    assert "not enabled" in response.json()[0]["description"]


@pytest.mark.parametrize(
    "query",
    [
        "service_code=potholes",
        "status=pending",
        "start_date=yesterday",
        "service_request_id=1;drop",
    ],
)
def test_bad_get_filters_are_400(client: TestClient, city: City, query: str) -> None:
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_unknown_request_ids_are_404(client: TestClient, city: City) -> None:
    for request_id in ["nowater-999", "outage-999999", "nope"]:
        response = client.get(f"/open311/v2/requests/{request_id}.json")
        assert response.status_code == 404
        assert response.json()[0]["code"] == 404


def test_the_date_filter_and_the_id_list(client: TestClient, city: City) -> None:
    ids = f"outage-{city.ids['upcoming']},outage-{city.ids['gas']}"
    found = client.get(f"/open311/v2/requests.json?service_request_id={ids}").json()
    assert sorted(r["service_request_id"] for r in found) == sorted(ids.split(","))
    none = client.get("/open311/v2/requests.json?end_date=2000-01-01T00:00:00Z").json()
    assert none == []


def test_hostile_fields_are_no_500(keyed: TestClient, city: City, db: Database) -> None:
    for data in [
        {"account_id": "ACC\x00-1"},
        {"lat": "31.2\x00", "long": "121.4"},
        {**INSIDE_A2, "description": "caller\x00 says \x07 dry", "phone": "138\x0000"},
    ]:
        response = filed(keyed, service_code="nowater", **data)
        assert response.status_code in (201, 400), (data, response.text)
    with db.read() as s:
        assert all("\x00" not in r.detail for r in s.exec(select(NoWaterReport)))
