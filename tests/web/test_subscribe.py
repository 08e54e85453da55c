"""``/subscribe``: every form path, the email double opt-in through a real SMTP server, the
SMS code through the fake Twilio, CSRF and the per-client rate limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import AuditEvent, OptOut, Subscriber
from outage_notify.settings import Settings
from outage_notify.web.app import create_app
from outage_notify.web.throttle import ClientThrottle
from tests.fake_twilio import FakeTwilio
from tests.smtp_server import LocalSMTPServer
from tests.web.conftest import Clock
from tests.web.factory import NOW, City

EMAIL = "Resident@Example.NET"


def with_sections(settings: Settings, **sections: dict[str, Any]) -> Settings:
    updates = {
        name: getattr(settings, name).model_copy(update=values) for name, values in sections.items()
    }
    return settings.model_copy(update=updates)


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return unescape(match.group(1))


def main(response: Any) -> str:
    """The page's own text, tags dropped."""
    inner = re.search(r"<main>(.*)</main>", response.text, re.S)
    assert inner, response.text
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inner.group(1))).split())


def token_of(client: TestClient, url: str = "/subscribe?lang=en") -> str:
    return field(client.get(url).text, "csrf_token")


def sign_up(client: TestClient, lang: str = "en", **data: Any) -> Any:
    values: dict[str, Any] = {"channel": "email", "email": EMAIL, "area": ["A1"], "language": "en"}
    values.update(data)
    if "csrf_token" not in values:
        values["csrf_token"] = token_of(client)
    return client.post(f"/subscribe?lang={lang}", data=values)


def subscribers(db: Database) -> list[tuple[str, str, str, str]]:
    with db.read() as session:
        rows = session.exec(select(Subscriber).order_by(col(Subscriber.id))).all()
        return [(s.channel, s.address, s.area_code, s.status) for s in rows]


def sent_emails(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox" / "email").glob("*.eml"))


# -- the form ----------------------------------------------------------------------------------


def test_the_form_lists_the_areas_by_utility_in_the_page_language(
    client: TestClient, city: City
) -> None:
    response = client.get("/subscribe?lang=en&area=A2")
    assert response.status_code == 200
    text = main(response)
    assert text.index("Water") < text.index("Renmin Rd") < text.index("Gas") < text.index("Nanjing")
    assert re.search(r'value="A2" checked', response.text)
    assert not re.search(r'value="A1" checked', response.text)
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; over https it is Secure
    chinese = main(client.get("/subscribe", headers={"Accept-Language": "zh-CN"}))
    assert "人民路" in chinese
    assert "订阅区域" in chinese


def test_the_cookie_is_secure_over_https(settings: Settings, db: Database, city: City) -> None:
    client = TestClient(create_app(settings, db), base_url="https://testserver")
    assert "Secure" in client.get("/subscribe").headers["set-cookie"]


def test_the_home_and_outage_pages_link_to_the_form(client: TestClient, city: City) -> None:
    assert 'href="/subscribe?lang=en"' in client.get("/?lang=en").text
    page = client.get(f"/outages/{city.ids['changed']}?lang=en").text
    assert 'href="/subscribe?area=A1&amp;area=A2&amp;lang=en"' in page


BAD_FORMS: dict[str, tuple[dict[str, Any], str, str]] = {
    "bad email": ({"email": "resident@"}, "email", "Enter an email address we can write to"),
    "bad phone": ({"channel": "sms", "phone": "12345"}, "phone", "Enter a mobile number"),
    "letters for a phone": ({"channel": "sms", "phone": "call me"}, "phone", "Enter a mobile"),
    "no email": ({"email": ""}, "email", "Enter an email address"),
    "unknown area": ({"area": ["A1", "Q9"]}, "area", "There is no area Q9."),
    "NUL in an area": ({"area": ["A1", "Q\x009"]}, "area", "There is no area Q9."),
    "no area": ({"area": []}, "area", "Pick at least one area."),
    "no channel": ({"channel": ""}, "channel", "Choose email or SMS."),
    "unknown channel": ({"channel": "fax"}, "channel", "Choose email or SMS."),
    "unknown language": ({"language": "fr"}, "language", "Choose a language from the list."),
}


@pytest.mark.parametrize("case", sorted(BAD_FORMS))
def test_bad_input_shows_the_form_again_and_writes_nothing(
    client: TestClient, city: City, db: Database, tmp_path: Path, case: str
) -> None:
    data, name, message = BAD_FORMS[case]
    response = sign_up(client, **data)
    assert response.status_code == 422
    assert message in main(response)
    assert f'href="#f-{name}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert field(response.text, "csrf_token")  # the form can be sent again as it is
    assert subscribers(db) == []
    assert sent_emails(tmp_path) == []


def test_what_was_typed_comes_back_escaped(client: TestClient, city: City) -> None:
    typed = '"><script>alert(1)</script>'
    response = sign_up(client, email=typed, area=["A2", "<b>X</b>"])
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text
    assert "<b>X</b>" not in response.text
    assert field(response.text, "email") == typed
    assert re.search(r'value="A2" checked', response.text)


# -- email: double opt-in --------------------------------------------------------------------


@pytest.fixture
def smtp_client(
    settings: Settings, db: Database, clock: Clock, smtp_server: LocalSMTPServer
) -> TestClient:
    smtp = {
        "backend": "smtp",
        "host": smtp_server.host,
        "port": smtp_server.port,
        "starttls": False,
    }
    return TestClient(create_app(with_sections(settings, email=smtp), db, clock=clock))


def confirmation(smtp_server: LocalSMTPServer) -> tuple[EmailMessage, str]:
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0].message
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    links = re.findall(r"https://outages\.example\.org(/subscribe/confirm/\S+)", text)
    assert len(links) == 1
    return message, links[0]


def test_email_double_opt_in_through_smtp(
    smtp_client: TestClient, city: City, db: Database, smtp_server: LocalSMTPServer, clock: Clock
) -> None:
    response = sign_up(smtp_client, area=["A1", "G1"], language="zh-CN")
    assert response.status_code == 200
    assert "We sent a link to resident@example.net" in main(response)
    assert subscribers(db) == [
        ("email", "resident@example.net", "A1", "pending"),
        ("email", "resident@example.net", "G1", "pending"),
    ]
    message, link = confirmation(smtp_server)
    assert smtp_server.messages[0].rcpt_tos == ("resident@example.net",)
    assert message["Subject"] == "请确认订阅计划停水停气通知"  # the language chosen for notices
    assert "中山路、南京路" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert link.endswith("?lang=zh-CN")

    clock.now = NOW + timedelta(hours=30)
    page = smtp_client.get(link)  # what a mail scanner does: nothing changes
    assert page.status_code == 200
    assert "r***@example.net" in main(page)
    assert page.headers["referrer-policy"] == "no-referrer"
    assert {s[3] for s in subscribers(db)} == {"pending"}

    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    done = smtp_client.post(
        unescape(action.group(1)), data={"csrf_token": field(page.text, "csrf_token")}
    )
    assert done.status_code == 200
    assert "订阅成功" in main(done)
    with db.read() as session:
        rows = session.exec(select(Subscriber)).all()
        assert {(r.status, r.consent_source, r.consent_at) for r in rows} == {
            ("active", "web", clock.now)
        }
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions == ["subscriber.request"] * 2 + ["subscriber.confirm"] * 2
    # The link keeps saying so, and confirms nothing twice.
    assert "订阅成功" in main(smtp_client.get(link))


def test_a_bad_or_expired_link_is_a_clear_400(
    smtp_client: TestClient, city: City, db: Database, smtp_server: LocalSMTPServer, clock: Clock
) -> None:
    sign_up(smtp_client)
    _, link = confirmation(smtp_server)
    path, _, query = link.partition("?")
    assert smtp_client.get(f"{path[:-3]}xyz?{query}").status_code == 400
    clock.now = NOW + timedelta(days=3, seconds=1)
    expired = smtp_client.get(link)
    assert expired.status_code == 400
    assert "This link is not valid" in main(expired) or "链接无效" in main(expired)
    assert {s[3] for s in subscribers(db)} == {"pending"}


def test_an_address_that_unsubscribed_is_told_confirming_turns_email_back_on(
    smtp_client: TestClient, city: City, db: Database, smtp_server: LocalSMTPServer
) -> None:
    with db.session() as session:
        session.add(OptOut(channel="email", address="resident@example.net", source="email"))
    response = sign_up(smtp_client)
    assert "This address unsubscribed earlier. Confirming turns email notices back on." in main(
        response
    )
    _, link = confirmation(smtp_server)
    page = smtp_client.get(link)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    smtp_client.post(unescape(action.group(1)), data={"csrf_token": field(page.text, "csrf_token")})
    with db.read() as session:
        assert session.exec(select(OptOut)).all() == []


def test_a_failed_send_says_so_and_the_address_may_ask_again(
    settings: Settings, db: Database, city: City, clock: Clock
) -> None:
    off = with_sections(settings, email={"backend": "disabled"})
    client = TestClient(create_app(off, db, clock=clock))
    failed = sign_up(client)
    assert failed.status_code == 503
    assert "We could not send the message just now" in main(failed)
    with db.read() as session:
        row = session.exec(select(Subscriber)).one()
        assert (row.status, row.confirm_secret_hash, row.confirm_expires_at) == (
            "pending",
            None,
            None,
        )
    assert sign_up(client).status_code == 503  # not "wait a minute": nothing went


def test_a_second_sign_up_within_a_minute_waits(
    client: TestClient, city: City, tmp_path: Path, clock: Clock
) -> None:
    assert sign_up(client).status_code == 200
    clock.now = NOW + timedelta(seconds=15)
    again = sign_up(client)
    assert again.status_code == 429
    assert again.headers["retry-after"] == "45"
    assert "less than a minute ago" in main(again)
    assert len(sent_emails(tmp_path)) == 1


def test_areas_followed_already_need_no_message(
    client: TestClient, city: City, db: Database, tmp_path: Path
) -> None:
    with db.session() as session:
        session.add(
            Subscriber(
                channel="email",
                address="resident@example.net",
                area_code="A1",
                language="en",
                status="active",
                consent_source="web",
            )
        )
    response = sign_up(client)
    assert response.status_code == 200
    assert "resident@example.net already gets notices for these areas." in main(response)
    assert sent_emails(tmp_path) == []


# -- SMS: a code, or a YES reply -------------------------------------------------------------


@pytest.fixture
def twilio_client(
    settings: Settings, db: Database, clock: Clock, fake_twilio: FakeTwilio
) -> TestClient:
    sms = {
        "backend": "twilio",
        "account_sid": fake_twilio.account_sid,
        "auth_token": SecretStr(fake_twilio.auth_token),
        "from_number": "+8610690000",
        "api_base_url": fake_twilio.url,
    }
    return TestClient(create_app(with_sections(settings, sms=sms), db, clock=clock))


PHONE = "+8613800138000"


def texted_code(fake_twilio: FakeTwilio) -> str:
    sent = fake_twilio.sent()
    assert len(sent) == 1
    form = sent[0].form
    assert form["To"] == PHONE
    assert "StatusCallback" not in form  # a code is no delivery to report on
    assert int(form["ValidityPeriod"]) > 0  # dropped rather than delivered late
    match = re.search(r"\b(\d{6})\b", form["Body"])
    assert match, form["Body"]
    return match.group(1)


def start_sms(client: TestClient) -> Any:
    response = sign_up(client, channel="sms", phone="138 0013 8000", email="", area=["A2"])
    assert response.status_code == 200, main(response)
    assert f"We texted a 6-digit code to {PHONE}" in main(response)
    return response


def enter(client: TestClient, page: Any, code: str) -> Any:
    data = {
        "csrf_token": field(page.text, "csrf_token"),
        "number": field(page.text, "number"),
        "code": code,
    }
    return client.post("/subscribe/verify?lang=en", data=data)


def test_the_right_code_confirms(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio
) -> None:
    page = start_sms(twilio_client)
    assert subscribers(db) == [("sms", PHONE, "A2", "pending")]
    code = texted_code(fake_twilio)
    spaced = f"{code[:3]} {code[3:]}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    done = enter(twilio_client, page, spaced)  # full width, with a space: still the code
    assert done.status_code == 200
    assert f"{PHONE} now gets notices about planned shutoffs in: Renmin Rd." in main(done)
    assert subscribers(db) == [("sms", PHONE, "A2", "active")]


def test_a_wrong_code_says_how_many_tries_are_left(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio
) -> None:
    page = start_sms(twilio_client)
    code = texted_code(fake_twilio)
    wrong = enter(twilio_client, page, f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.status_code == 422
    assert "That code is not right. 4 tries left." in main(wrong)
    assert enter(twilio_client, wrong, code).status_code == 200  # the form works again


def test_a_malformed_code_costs_no_try(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio
) -> None:
    page = start_sms(twilio_client)
    code = texted_code(fake_twilio)
    for typed in ["12345", "12a456", "", "1234567"]:
        response = enter(twilio_client, page, typed)
        assert response.status_code == 422
        assert "Enter the 6 digits of the code." in main(response)
    with db.read() as session:
        assert (
            session.exec(select(Subscriber.confirm_secret_hash))
            .one()
            .startswith(  # type: ignore[union-attr]
                "hmac-sha256$0$"
            )
        )
    assert enter(twilio_client, page, code).status_code == 200


def test_an_expired_code_is_refused(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    page = start_sms(twilio_client)
    code = texted_code(fake_twilio)
    clock.now = NOW + timedelta(minutes=15)
    response = enter(twilio_client, page, code)
    assert response.status_code == 422
    assert "That code has expired. Sign up again for a new one." in main(response)
    assert subscribers(db) == [("sms", PHONE, "A2", "pending")]


def test_too_many_wrong_codes_void_the_code(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio
) -> None:
    page = start_sms(twilio_client)
    code = texted_code(fake_twilio)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    said = [main(enter(twilio_client, page, wrong)) for _ in range(5)]
    assert "1 tries left" in said[3]
    assert "Too many wrong codes" in said[4]
    right = enter(twilio_client, page, code)
    assert right.status_code == 422
    assert "Too many wrong codes. Sign up again for a new one." in main(right)
    assert subscribers(db) == [("sms", PHONE, "A2", "pending")]


def test_an_altered_number_field_is_refused(
    twilio_client: TestClient, city: City, fake_twilio: FakeTwilio
) -> None:
    page = start_sms(twilio_client)
    data = {
        "csrf_token": field(page.text, "csrf_token"),
        "number": "+8613900000000",
        "code": texted_code(fake_twilio),
    }
    response = twilio_client.post("/subscribe/verify?lang=en", data=data)
    assert response.status_code == 400


def test_an_opted_out_number_is_told_to_text_yes(
    twilio_client: TestClient, city: City, db: Database, fake_twilio: FakeTwilio
) -> None:
    with db.session() as session:
        session.add(OptOut(channel="sms", address=PHONE, source="sms"))
    response = sign_up(twilio_client, channel="sms", phone=PHONE, area=["A1"])
    assert response.status_code == 200
    assert (
        f"{PHONE} opted out of our texts, so we cannot text it a code. Text YES (or START) "
        "from it to +8610690000 within 15 minutes" in main(response)
    )
    assert fake_twilio.sent() == []
    assert subscribers(db) == [("sms", PHONE, "A1", "pending")]


# -- CSRF and the rate limit -------------------------------------------------------------------


def _other_clients_token(settings: Settings, db: Database) -> str:
    return token_of(TestClient(create_app(settings, db)))


CSRF_CASES: dict[str, Callable[[TestClient, Settings, Database], dict[str, Any]]] = {
    "missing": lambda c, s, d: {"csrf_token": ""},
    "garbage": lambda c, s, d: {"csrf_token": "not-a-token"},
    "another browser's": lambda c, s, d: {"csrf_token": _other_clients_token(s, d)},
}


@pytest.mark.parametrize("case", sorted(CSRF_CASES))
def test_a_post_without_a_valid_csrf_token_is_403_and_writes_nothing(
    client: TestClient, settings: Settings, city: City, db: Database, tmp_path: Path, case: str
) -> None:
    client.get("/subscribe")  # the browser has its cookie
    response = sign_up(client, **CSRF_CASES[case](client, settings, db))
    assert response.status_code == 403
    assert "This form has expired" in main(response)
    assert subscribers(db) == []
    assert sent_emails(tmp_path) == []


def test_a_field_without_its_cookie_is_refused(
    client: TestClient, city: City, db: Database
) -> None:
    token = token_of(client)
    client.cookies.clear()
    assert sign_up(client, csrf_token=token).status_code == 403
    assert subscribers(db) == []


def test_an_old_field_is_refused(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, city: City, db: Database
) -> None:
    from itsdangerous.timed import TimestampSigner

    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 13 * 3600)
    token = token_of(client)  # signed 13 hours ago
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert sign_up(client, csrf_token=token).status_code == 403
    assert subscribers(db) == []


@pytest.mark.parametrize("path", ["/subscribe/verify", "/subscribe/confirm/anything"])
def test_every_form_post_checks_the_token(client: TestClient, city: City, path: str) -> None:
    client.get("/subscribe")
    assert client.post(path, data={"code": "123456"}).status_code == 403


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limited(app: Any, ticks: Ticks) -> None:
    app.state.form_throttle = ClientThrottle(burst=2, per_minute=1, clock=ticks)


def test_too_many_posts_from_one_client_get_429(
    settings: Settings, db: Database, city: City, clock: Clock
) -> None:
    app = create_app(settings, db, clock=clock)
    ticks = Ticks()
    limited(app, ticks)
    client = TestClient(app, client=("198.51.100.7", 40000))
    token = token_of(client)
    bad = {"csrf_token": token, "area": []}
    assert [sign_up(client, **bad).status_code for _ in range(2)] == [422, 422]
    refused = sign_up(client, **bad)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Too many forms from your network. Try again in 60 seconds." in main(refused)
    # Another client is not held back, and a spoofed X-Forwarded-For frees nobody.
    other = TestClient(app, client=("198.51.100.8", 40000))
    assert sign_up(other, **{**bad, "csrf_token": token_of(other)}).status_code == 422
    spoof = {"X-Forwarded-For": "203.0.113.99"}
    assert client.post("/subscribe", data=bad, headers=spoof).status_code == 429
    ticks.now += 60
    assert sign_up(client, **bad).status_code == 422
    assert sign_up(client, **bad).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_counts(
    settings: Settings, db: Database, city: City, clock: Clock
) -> None:
    behind = with_sections(settings, web={"trusted_proxies": ["10.0.0.0/24"]})
    app = create_app(behind, db, clock=clock)
    limited(app, Ticks())
    proxy = TestClient(app, client=("10.0.0.5", 40000))
    token = token_of(proxy)

    def post(client_address: str) -> int:
        forwarded = {"X-Forwarded-For": f"{client_address}, 10.0.0.5"}
        data = {"csrf_token": token, "area": []}
        return proxy.post("/subscribe", data=data, headers=forwarded).status_code

    assert [post("203.0.113.1") for _ in range(3)] == [422, 422, 429]
    assert post("203.0.113.2") == 422  # another resident behind the same proxy


def test_the_confirm_link_page_is_not_limited_but_its_post_is(
    settings: Settings, db: Database, city: City, clock: Clock
) -> None:
    app = create_app(settings, db, clock=clock)
    limited(app, Ticks())
    client = TestClient(app)
    assert all(client.get("/subscribe/confirm/x").status_code == 400 for _ in range(5))
    token = token_of(client)
    codes = [
        client.post("/subscribe/confirm/x", data={"csrf_token": token}).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]


def test_the_page_urls_of_a_public_url_with_a_path(
    db: Database, settings: Settings, city: City
) -> None:
    prefixed = settings.model_copy(update={"public_url": "https://city.example/outages"})
    client = TestClient(create_app(prefixed, db))
    response = client.get("/subscribe?lang=en")
    assert '<form method="post" action="/outages/subscribe?lang=en"' in response.text
    assert "Path=/outages" in response.headers["set-cookie"]
