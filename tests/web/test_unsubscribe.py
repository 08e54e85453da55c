"""``GET|POST /unsubscribe/{token}``: the confirm page and the RFC 8058 one-click POST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.errors import SettingsError
from outage_notify.models import AuditEvent, OptOut, Subscriber
from outage_notify.notices.unsubscribe_links import make_token
from outage_notify.settings import Settings
from outage_notify.web.app import create_app
from outage_notify.web.unsubscribe import masked

ADDRESS = "resident@example.net"
NOW = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
ONE_CLICK = {"content": b"List-Unsubscribe=One-Click"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(settings: Settings, db: Database) -> TestClient:
    return TestClient(create_app(settings, db, clock=lambda: NOW))


@pytest.fixture
def token(settings: Settings, db: Database) -> str:
    with db.session() as session:
        session.add(
            Subscriber(
                channel="email",
                address=ADDRESS,
                area_code="R1",
                language="en",
                status="active",
                consent_source="web",
            )
        )
    return make_token(settings, channel="email", address=ADDRESS)


def state(db: Database) -> tuple[list[tuple[str, str, str | None]], list[str], int]:
    """Opt-outs, subscriber statuses and the number of audit events: what a request changed."""
    with db.read() as session:
        opt_outs = [(o.address, o.source, o.reason) for o in session.exec(select(OptOut))]
        statuses = [s.status for s in session.exec(select(Subscriber))]
        events = len(session.exec(select(AuditEvent)).all())
    return opt_outs, statuses, events


UNCHANGED = ([], ["active"], 0)


def test_get_shows_a_confirm_page_and_changes_nothing(
    client: TestClient, db: Database, token: str
) -> None:
    response = client.get(f"/unsubscribe/{token}", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "r***@example.net" in response.text
    assert ADDRESS not in response.text
    assert f'<form method="post" action="/unsubscribe/{token}?lang=en">' in response.text
    assert state(db) == UNCHANGED
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("query", "accept_language", "expected"),
    [
        ("", "zh-CN,zh;q=0.9,en;q=0.8", "确认退订"),
        ("", "en-US,en;q=0.9", "Unsubscribe from email notices?"),
        ("?lang=en", "zh-CN", "Unsubscribe from email notices?"),
        ("?lang=zh-CN", "en", "确认退订"),
        ("", "", "确认退订"),  # default_language
    ],
)
def test_the_page_speaks_the_visitors_language(
    client: TestClient, token: str, query: str, accept_language: str, expected: str
) -> None:
    response = client.get(
        f"/unsubscribe/{token}{query}", headers={"Accept-Language": accept_language}
    )
    assert expected in response.text


def test_one_click_post_unsubscribes(client: TestClient, db: Database, token: str) -> None:
    # Exactly what a mail provider sends under RFC 8058.
    response = client.post(f"/unsubscribe/{token}", headers=FORM, **ONE_CLICK)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert "您已退订" in response.text  # default_language: zh-CN
    assert state(db) == (
        [(ADDRESS, "email", "one-click (RFC 8058)")],
        ["unsubscribed"],
        2,
    )
    assert "set-cookie" not in response.headers


def test_one_click_post_as_multipart_unsubscribes(
    client: TestClient, db: Database, token: str
) -> None:
    response = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert state(db)[0] == [(ADDRESS, "email", "one-click (RFC 8058)")]


def test_the_confirm_page_form_unsubscribes(client: TestClient, db: Database, token: str) -> None:
    response = client.post(f"/unsubscribe/{token}?lang=en", data={"List-Unsubscribe": "Confirm"})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert state(db)[0] == [(ADDRESS, "email", "confirm page")]


def test_a_post_with_no_body_still_unsubscribes(
    client: TestClient, db: Database, token: str
) -> None:
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert state(db)[1] == ["unsubscribed"]


def test_unsubscribing_twice_is_harmless(client: TestClient, db: Database, token: str) -> None:
    for _ in range(2):
        response = client.post(f"/unsubscribe/{token}", headers=FORM, **ONE_CLICK)  # type: ignore[arg-type]
        assert response.status_code == 200
    assert len(state(db)[0]) == 1
    assert state(db)[2] == 2
    # The confirm page now says it is done.
    assert "You are unsubscribed" in client.get(f"/unsubscribe/{token}?lang=en").text


def _tampered(token: str) -> str:
    payload, signature = token.rsplit(".", 1)
    other = "B" if payload[5] == "A" else "A"
    return f"{payload[:5]}{other}{payload[6:]}.{signature}"


BAD = {
    "garbage": lambda token: "not-a-token",
    "tampered": _tampered,
    "unsigned": lambda token: token.rsplit(".", 1)[0],
    "another address": lambda token: make_token(
        _other_key_settings(), channel="email", address=ADDRESS
    ),
}


def _other_key_settings() -> Settings:
    return Settings.model_validate({"web": {"secret_key": "someone-elses-key"}})


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_token_gets_400_and_changes_nothing(
    client: TestClient, db: Database, token: str, method: str, name: str
) -> None:
    bad = BAD[name](token)
    response = client.request(
        method.upper(),
        f"/unsubscribe/{bad}?lang=en",
        headers=FORM,
        **ONE_CLICK,  # type: ignore[arg-type]
    )
    assert response.status_code == 400
    assert "This link is not valid" in response.text
    assert state(db) == UNCHANGED


def test_the_app_refuses_to_start_without_a_secret_key(settings: Settings, db: Database) -> None:
    web = settings.web.model_copy(update={"secret_key": SecretStr("")})
    with pytest.raises(SettingsError, match=r"web\.secret_key"):
        create_app(settings.model_copy(update={"web": web}), db)


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR,en;q=0.5,zh;q=0.8", "zh-CN"),
        (None, "fr-FR", "zh-CN"),
        (None, "en;q=bad,zh-TW", "zh-CN"),
        ("en", "zh-CN", "en"),
        ("de", "en", "en"),
        (None, None, "zh-CN"),
    ],
)
def test_page_language(
    client: TestClient, token: str, query: str | None, header: str | None, expected: str
) -> None:
    url = f"/unsubscribe/{token}" + (f"?lang={query}" if query else "")
    headers = {"Accept-Language": header} if header else {}
    html = client.get(url, headers=headers).text
    assert f'<html lang="{expected}">' in html


def test_the_pages_share_the_site_layout(client: TestClient, token: str) -> None:
    html = client.get(f"/unsubscribe/{token}?lang=en").text
    assert '<link rel="stylesheet" href="/static/site.css">' in html
    assert '<meta name="robots" content="noindex">' in html
    assert "<style>" not in html
    # The language switch keeps the token.
    assert f'href="/unsubscribe/{token}?lang=zh-CN"' in html


@pytest.mark.parametrize(
    ("address", "expected"),
    [("resident@example.net", "r***@example.net"), ("+8613800138000", "+86***")],
)
def test_masked(address: str, expected: str) -> None:
    assert masked(address) == expected
