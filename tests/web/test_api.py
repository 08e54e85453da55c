"""The REST API: auth, validation by field, each lifecycle action and its audit row, the
idempotent create, 404s and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import AuditEvent, Outage
from outage_notify.settings import Settings
from outage_notify.web import api
from outage_notify.web.app import create_app
from tests.web.conftest import Clock
from tests.web.factory import NOW, City

TOKEN = "test-api-token"  # tests/conftest.py's web.api_token
AUTH = {"Authorization": f"Bearer {TOKEN}", "X-Actor": "maximo"}
# Thursday 3 December 2026, local (Asia/Shanghai): more than a day after NOW.
PLAN: dict[str, Any] = {
    "utility": "water",
    "title": "Main replacement on Zhongshan Rd",
    "description": "Fill containers the night before.",
    "start": "2026-12-03T08:00",
    "end": "2026-12-03T12:00",
    "areas": ["A1", "A2"],
    "ref": "WO-2291",
}


def outages_in(db: Database) -> list[Outage]:
    with db.read() as session:
        return list(session.exec(select(Outage).order_by(col(Outage.id))).all())


def audit(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        return [(e.actor, e.action, e.entity_id) for e in rows]


def fields(response: Any) -> list[str | None]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [p["field"] for p in response.json()["problems"]]


# -- authentication ----------------------------------------------------------------------

REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/outages", None),
    ("GET", "/api/outages/1", None),
    ("POST", "/api/outages", PLAN),
    ("PATCH", "/api/outages/1", {"action": "cancel"}),
]


@pytest.mark.parametrize(("method", "url", "body"), REQUESTS)
@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="outage-notify"'),
        ("Bearer ", 'Bearer realm="outage-notify"'),
        (f"Basic {TOKEN}", 'Bearer realm="outage-notify"'),
        ("Bearer wrong-token", 'Bearer realm="outage-notify", error="invalid_token"'),
        (f"Bearer {TOKEN}x", 'Bearer realm="outage-notify", error="invalid_token"'),
    ],
)
def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    client: TestClient,
    city: City,
    db: Database,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    authorization: str | None,
    challenge: str,
) -> None:
    before = outages_in(db)
    headers = {"X-Actor": "maximo"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.request(method, url, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge
    assert response.json()["status"] == 401
    assert outages_in(db) == before
    assert audit(db) == []


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"action": "teleport"}', b'{"utility": 3}'], ids=str
)
def test_without_the_token_a_bad_body_is_401_not_422(client: TestClient, body: bytes) -> None:
    # Nothing about the body's shape is told to a client that may not use the API.
    response = client.post(
        "/api/outages", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "body"), REQUESTS)
def test_an_empty_configured_token_disables_the_api(
    config_values: dict[str, Any],
    settings: Settings,
    db: Database,
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    web = settings.web.model_copy(update={"api_token": settings.web.api_token.__class__("")})
    client = TestClient(create_app(settings.model_copy(update={"web": web}), db))
    for headers in (AUTH, {"Authorization": "Bearer ", "X-Actor": "x"}, {}):
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403
        assert "disabled" in response.json()["detail"]
        assert "web.api_token" in response.json()["detail"]
    assert outages_in(db) == []


def test_the_token_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, city: City
) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(api.hmac, "compare_digest", compare)
    assert client.get("/api/outages", headers=AUTH).status_code == 200
    assert compared == [(TOKEN.encode(), TOKEN.encode())]


# -- validation: each bad field is a 422 naming it -------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    body = dict(PLAN)
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key)
        else:
            body[key] = value
    return body


_DROP = object()

BAD_CREATES: dict[str, tuple[dict[str, Any], str]] = {
    "no utility": (_with(utility=_DROP), "utility"),
    "unknown utility": (_with(utility="steam"), "utility"),
    "no title": (_with(title=_DROP), "title"),
    "empty title": (_with(title="  "), "title"),
    "long title": (_with(title="x" * 121), "title"),
    "long description": (_with(description="x" * 4001), "description"),
    "start not a time": (_with(start="tomorrow morning"), "start"),
    "end a bare date": (_with(end="2026-12-03"), "end"),
    "start a number": (_with(start=20261203), "start"),
    "end before start": (_with(end="2026-12-03T07:00"), "end"),
    "start in the past": (_with(start="2026-11-30T08:00"), "start"),
    "less than min_notice": (_with(start="2026-12-01T20:00", end="2026-12-01T22:00"), "start"),
    "open end 9999": (_with(end="9999-12-31T00:00"), "end"),
    "end past the calendar": (_with(end="9999-12-31T23:59-05:00"), "end"),
    "start in year 1": (_with(start="0001-01-01T00:00"), "start"),
    "start before 1970": (_with(start="1969-12-31T08:00Z"), "start"),
    "end six years ahead": (_with(end="2032-12-03T12:00"), "end"),
    "a month for a day": (_with(end="2027-01-03T12:00"), "end"),
    "no areas": (_with(areas=[]), "areas"),
    "areas not a list": (_with(areas="A1"), "areas"),
    "unknown area": (_with(areas=["A1", "Z9"]), "areas"),
    "area of the other utility": (_with(areas=["G1"]), "areas"),
    "NUL in the title": (_with(title="Main\x00 replacement"), "title"),
    "escape in the description": (_with(description="\x1b[31mred"), "description"),
    "NUL in the ref": (_with(ref="WO-\x002291"), "ref"),
    "NUL in an area": (_with(areas=["A\x001"]), "areas"),
    "long ref": (_with(ref="W" * 65), "ref"),
    "empty ref": (_with(ref=" "), "ref"),
    "misspelt field": (_with(short_notce=True), "short_notce"),
    "not a bool": (_with(short_notice="maybe"), "short_notice"),
}


@pytest.mark.parametrize("case", sorted(BAD_CREATES))
def test_a_bad_field_is_422_naming_it_and_nothing_is_written(
    client: TestClient, city: City, db: Database, case: str
) -> None:
    body, field = BAD_CREATES[case]
    before = outages_in(db)
    response = client.post("/api/outages", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert field in fields(response), response.json()
    assert response.json()["title"] == "Unprocessable Content"
    assert all(p["message"] for p in response.json()["problems"])
    assert outages_in(db) == before
    assert audit(db) == []


def test_every_problem_is_listed_at_once(client: TestClient, city: City) -> None:
    body = _with(title="", areas=["Z9"], start="2026-11-01T08:00", end="2026-11-01T07:00")
    response = client.post("/api/outages", json=body, headers=AUTH)
    assert response.status_code == 422
    assert sorted(f for f in fields(response) if f) == ["areas", "end", "start", "title"]
    assert response.json()["detail"] == "the outage was not planned:"


BAD_CHANGES: dict[str, tuple[str, dict[str, Any], str]] = {
    "no action": ("upcoming", {"start": "2026-12-05T08:00"}, "action"),
    "unknown action": ("upcoming", {"action": "teleport"}, "action"),
    "reschedule without start": (
        "upcoming",
        {"action": "reschedule", "end": "2026-12-05T12:00"},
        "start",
    ),
    "reschedule to a non-time": (
        "upcoming",
        {"action": "reschedule", "start": "soon", "end": "2026-12-05T12:00"},
        "start",
    ),
    "reschedule to the same times": (
        "upcoming",
        {"action": "reschedule", "start": "2026-12-03T08:00", "end": "2026-12-03T12:00"},
        "start",
    ),
    "extend to an earlier end": ("live", {"action": "extend", "end": "2026-12-01T08:30"}, "end"),
    "extend to an open end": ("live", {"action": "extend", "end": "9999-12-31T00:00"}, "end"),
    "extend by a month": ("live", {"action": "extend", "end": "2027-01-01T08:00"}, "end"),
    "reschedule to an open end": (
        "upcoming",
        {"action": "reschedule", "start": "2026-12-05T08:00", "end": "9999-12-31T00:00"},
        "end",
    ),
    "reschedule to year 1": (
        "upcoming",
        {"action": "reschedule", "start": "0001-01-01T08:00", "end": "2026-12-05T12:00"},
        "start",
    ),
    "extend with a field of reschedule": (
        "live",
        {"action": "extend", "end": "2026-12-01T20:00", "start": "2026-12-01T08:00"},
        "start",
    ),
    "cancel with a long reason": ("upcoming", {"action": "cancel", "reason": "x" * 501}, "reason"),
    "cancel with a NUL in the reason": (
        "upcoming",
        {"action": "cancel", "reason": "r\x00"},
        "reason",
    ),
    "edit to a NUL in the title": ("upcoming", {"action": "edit", "title": "t\x00"}, "title"),
    "edit nothing": ("upcoming", {"action": "edit"}, "title"),
    "edit to an empty title": ("upcoming", {"action": "edit", "title": ""}, "title"),
}


@pytest.mark.parametrize("case", sorted(BAD_CHANGES))
def test_a_bad_change_is_422_naming_the_field(
    client: TestClient, city: City, db: Database, case: str
) -> None:
    name, body, field = BAD_CHANGES[case]
    before = outages_in(db)
    response = client.patch(f"/api/outages/{city.ids[name]}", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert field in fields(response), response.json()
    assert outages_in(db) == before


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": f"Bearer {TOKEN}"}, "the header is missing"),
        ({**AUTH, "X-Actor": "   "}, "the header is missing"),
        ({**AUTH, "X-Actor": "m" * 61}, "1-60 printable characters"),
    ],
)
def test_a_change_needs_an_actor(
    client: TestClient, city: City, db: Database, headers: dict[str, str], message: str
) -> None:
    response = client.post("/api/outages", json=PLAN, headers=headers)
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": "X-Actor", "message": message}]
    assert len(outages_in(db)) == len(city.ids)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("utility=steam", "utility"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_a_bad_filter_is_422_naming_it(
    client: TestClient, city: City, query: str, field: str
) -> None:
    response = client.get(f"/api/outages?{query}", headers=AUTH)
    assert response.status_code == 422
    assert fields(response) == [field]


# -- creating, reading and each lifecycle action -----------------------------------------


def test_create_plans_the_outage_with_its_notices_and_audit(
    client: TestClient, city: City, db: Database
) -> None:
    response = client.post("/api/outages", json=PLAN, headers=AUTH)
    assert response.status_code == 201, response.text
    data = response.json()
    assert response.headers["location"] == f"/api/outages/{data['id']}"
    assert data["start"] == "2026-12-03T08:00:00+08:00"  # read in timezone, shown with offset
    assert data["areas"] == ["A1", "A2"]
    assert data["created_by"] == "api:maximo"
    assert data["url"] == f"https://outages.example.org/outages/{data['id']}"
    assert [r["change"] for r in data["revisions"]] == ["created"]
    assert {n["kind"] for n in data["notices"]} >= {"advance"}
    assert audit(db) == [("api:maximo", "outage.created", str(data["id"]))]
    assert client.get(f"/api/outages/{data['id']}", headers=AUTH).json() == data


def test_times_with_an_offset_are_taken_as_written(client: TestClient, city: City) -> None:
    body = _with(start="2026-12-03T00:00:00Z", end="2026-12-03T04:30:00+00:00")
    data = client.post("/api/outages", json=body, headers=AUTH).json()
    assert (data["start"], data["end"]) == (
        "2026-12-03T08:00:00+08:00",
        "2026-12-03T12:30:00+08:00",
    )


def test_short_notice_allows_a_near_start(client: TestClient, city: City) -> None:
    body = _with(start="2026-12-01T20:00", end="2026-12-01T22:00", short_notice=True)
    response = client.post("/api/outages", json=body, headers=AUTH)
    assert response.status_code == 201
    assert response.json()["short_notice"] is True


def change(client: TestClient, outage_id: int, **body: Any) -> Any:
    return client.patch(f"/api/outages/{outage_id}", json=body, headers=AUTH)


LIFECYCLE: dict[str, tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], bool]]] = {
    "reschedule": (
        "upcoming",
        {"start": "2026-12-04T09:00", "end": "2026-12-04T13:00"},
        "outage.rescheduled",
        lambda d: d["start"] == "2026-12-04T09:00:00+08:00",
    ),
    "extend": (
        "live",
        {"end": "2026-12-01T20:00+08:00"},
        "outage.extended",
        lambda d: d["end"] == "2026-12-01T20:00:00+08:00",
    ),
    "cancel": (
        "upcoming",
        {"reason": "Crew reassigned"},
        "outage.cancelled",
        lambda d: (d["status"], d["cancel_reason"]) == ("cancelled", "Crew reassigned"),
    ),
    "restore": (
        "live",
        {},
        "outage.restored",
        lambda d: d["status"] == "restored" and d["restored_at"] is not None,
    ),
    "edit": (
        "upcoming",
        {"title": "Corrected title"},
        "outage.edited",
        lambda d: d["title"] == "Corrected title",
    ),
}


@pytest.mark.parametrize("action", sorted(LIFECYCLE))
def test_each_lifecycle_action_makes_a_revision_and_an_audit_row(
    client: TestClient, city: City, db: Database, action: str
) -> None:
    name, body, audited, check = LIFECYCLE[action]
    outage_id = city.ids[name]
    before = client.get(f"/api/outages/{outage_id}", headers=AUTH).json()
    response = change(client, outage_id, action=action, **body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert check(data)
    assert data["revision"] == before["revision"] + 1
    assert data["revisions"][-1]["actor"] == "api:maximo"
    assert audit(db) == [("api:maximo", audited, str(outage_id))]
    if action != "edit":  # an edit sends no notice of its own
        kinds = {n["kind"] for n in data["notices"] if n["revision"] == data["revision"]}
        assert kinds, data["notices"]


CONFLICTS = {
    "reschedule a cancelled outage": (
        "cancelled",
        {"action": "reschedule", "start": "2026-12-05T08:00", "end": "2026-12-05T12:00"},
    ),
    "cancel work under way": ("live", {"action": "cancel"}),
    "restore work not started": ("upcoming", {"action": "restore"}),
    "extend a restored outage": ("restored", {"action": "extend", "end": "2026-12-09T08:00"}),
    "edit a cancelled outage": ("cancelled", {"action": "edit", "title": "New"}),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_a_change_the_state_does_not_allow_is_409(
    client: TestClient, city: City, db: Database, case: str
) -> None:
    name, body = CONFLICTS[case]
    response = client.patch(f"/api/outages/{city.ids[name]}", json=body, headers=AUTH)
    assert response.status_code == 409, response.text
    assert response.json()["problems"][0]["field"] is None
    assert f"outage #{city.ids[name]}" in response.json()["problems"][0]["message"]
    assert audit(db) == []


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/outages/999", None),
        ("GET", "/api/outages/0", None),
        ("GET", "/api/outages/99999999999999999999", None),
        ("PATCH", "/api/outages/999", {"action": "cancel"}),
        ("PATCH", "/api/outages/999", {"action": "extend", "end": "2026-12-09T08:00"}),
    ],
)
def test_an_unknown_outage_is_404(
    client: TestClient, city: City, method: str, url: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, url, json=body, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("there is no outage #")


def test_the_list_filters_and_pages(client: TestClient, city: City) -> None:
    def titles(query: str) -> list[str]:
        response = client.get(f"/api/outages?{query}", headers=AUTH)
        assert response.status_code == 200
        return [o["title"] for o in response.json()["outages"]]

    assert titles("utility=gas") == ["Gas G1"]
    assert titles("status=cancelled") == ["Cancelled A1", "Cancelled 9 days ago"]
    assert titles("status=restored&utility=water") == ["Restored A2"]
    everything = titles("")
    assert len(everything) == len(city.ids)
    assert titles("limit=2&offset=1") == everything[1:3]
    assert client.get("/api/outages?limit=2", headers=AUTH).json()["total"] == len(city.ids)
    client.post("/api/outages", json=PLAN, headers=AUTH)
    assert titles("ref=WO-2291") == [PLAN["title"]]


# -- idempotent creation by ref ----------------------------------------------------------------


def test_the_same_post_twice_returns_the_first_outage(
    client: TestClient, city: City, db: Database
) -> None:
    first = client.post("/api/outages", json=PLAN, headers=AUTH)
    again = client.post("/api/outages", json=PLAN, headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert "location" not in again.headers
    assert len(outages_in(db)) == len(city.ids) + 1
    assert [a for _, a, _ in audit(db)] == ["outage.created"]


def test_the_same_instant_written_another_way_is_the_same_request(
    client: TestClient, city: City
) -> None:
    first = client.post("/api/outages", json=PLAN, headers=AUTH).json()
    same = _with(
        start="2026-12-03T00:00Z", end="2026-12-03T04:00:00+00:00", title=f" {PLAN['title']} "
    )
    again = client.post("/api/outages", json=same, headers=AUTH)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_a_retry_still_matches_after_the_outage_changed(client: TestClient, city: City) -> None:
    first = client.post("/api/outages", json=PLAN, headers=AUTH).json()
    change(client, first["id"], action="extend", end="2026-12-03T15:00")
    again = client.post("/api/outages", json=PLAN, headers=AUTH)
    assert again.status_code == 200
    assert again.json()["end"] == "2026-12-03T15:00:00+08:00"  # the outage as it is now


@pytest.mark.parametrize(
    ("changes", "differ"),
    [
        ({"title": "Another job"}, ["title"]),
        ({"areas": ["A1"]}, ["areas"]),
        ({"start": "2026-12-03T09:00", "end": "2026-12-03T13:00"}, ["start", "end"]),
        ({"utility": "gas", "areas": ["G1"]}, ["utility", "areas"]),
    ],
)
def test_the_same_ref_with_other_values_is_409(
    client: TestClient, city: City, db: Database, changes: dict[str, Any], differ: list[str]
) -> None:
    client.post("/api/outages", json=PLAN, headers=AUTH)
    response = client.post("/api/outages", json=_with(**changes), headers=AUTH)
    assert response.status_code == 409
    assert fields(response) == differ
    assert "WO-2291" in response.json()["detail"]
    assert len(outages_in(db)) == len(city.ids) + 1


def test_a_ref_taken_between_look_up_and_insert_answers_as_a_retry(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, city: City, db: Database
) -> None:
    first = client.post("/api/outages", json=PLAN, headers=AUTH).json()
    real = api.by_ref
    calls: list[str] = []

    def blind_once(session: Any, ref: str) -> Outage | None:
        # The first look-up misses the outage, as it would before the other request commits.
        calls.append(ref)
        return None if len(calls) == 1 else real(session, ref)

    monkeypatch.setattr(api, "by_ref", blind_once)
    response = client.post("/api/outages", json=PLAN, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == first["id"]
    assert calls == ["WO-2291", "WO-2291"]
    assert len(outages_in(db)) == len(city.ids) + 1


def test_now_is_the_apps_clock(client: TestClient, city: City, clock: Clock) -> None:
    clock.now = NOW + timedelta(days=3)
    response = client.post("/api/outages", json=PLAN, headers=AUTH)
    assert response.status_code == 422
    assert "(now 2026-12-04 08:00 +08:00)" in response.json()["problems"][0]["message"]


# -- the OpenAPI document ----------------------------------------------------------------------


def test_the_openapi_document_lists_every_route(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                assert (route.path, method.lower()) in listed, (route.path, method)
    api_routes = {(p, m) for p, m in listed if p.startswith("/api/")}
    assert api_routes == {
        ("/api/outages", "get"),
        ("/api/outages", "post"),
        ("/api/outages/{outage_id}", "get"),
        ("/api/outages/{outage_id}", "patch"),
    }


def test_the_api_operations_carry_examples_and_security(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, method in [("/api/outages", "post"), ("/api/outages/{outage_id}", "patch")]:
        examples = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert examples["examples"], (path, method)
    patch = document["paths"]["/api/outages/{outage_id}"]["patch"]
    body_examples = patch["requestBody"]["content"]["application/json"]["examples"]
    assert set(body_examples) == {"reschedule", "extend", "cancel", "restore", "edit"}
    for path, ops in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            assert op["security"] == [{"HTTPBearer": []}], (path, method)
            assert {"401", "403"} <= set(op["responses"]), (path, method)
            success = op["responses"]["201" if method == "post" else "200"]
            assert success["content"]["application/json"]["example"], (path, method)


def test_the_docs_page_loads_nothing_from_outside(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text
    script = page.text.split('<script src="', 1)[1].split('"', 1)[0]
    assert client.get(script).status_code == 200
