"""The sign-up in headless Chromium (Debian's), end to end: fill the form, submit, the
confirmation email arrives at a real SMTP server (aiosmtpd), open its link, confirm, and the
subscriber is active. Skips (or, in CI, fails) without Chromium, as the banner tests do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.models import Subscriber
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
from tests.conftest import base_config, write_config
from tests.smtp_server import LocalSMTPServer
from tests.web.factory import add_area
from tests.web.test_banner_browser import CHROMIUM, CHROMIUM_ARGS, ThreadedServer, require_chromium

pytestmark = pytest.mark.browser


class LateApp:
    """An ASGI app handed over once the server's port, and so ``public_url``, is known."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def site(tmp_path: Path, smtp_server: LocalSMTPServer) -> Iterator[tuple[str, Database]]:
    require_chromium()
    url = f"sqlite:///{tmp_path / 'outage-notify.db'}"
    database = Database(url)
    migrations.upgrade(database)
    with database.session() as session:
        add_area(session, "A1", name="中山路", name_en="Zhongshan Rd")
        add_area(session, "G1", utility="gas", name="南京路", name_en="Nanjing Rd", lat=31.25)
    late = LateApp()
    with ThreadedServer(late) as server:
        base = f"http://127.0.0.1:{server.port}"
        values = base_config(tmp_path, url)
        values["public_url"] = base
        values["email"] = {
            "backend": "smtp",
            "host": smtp_server.host,
            "port": smtp_server.port,
            "starttls": False,
        }
        settings = load_settings(write_config(tmp_path / "c.toml", values), environ={})
        late.app = create_app(settings, database)
        yield base, database
    database.dispose()


@pytest.fixture
def page(site: tuple[str, Database]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # A phone: the form must work without zooming or scrolling sideways.
        context = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB")
        yield context.new_page()
        context.close()
        browser.close()


def test_sign_up_by_email_end_to_end(
    page: Any, site: tuple[str, Database], smtp_server: LocalSMTPServer, tmp_path: Path
) -> None:
    base, database = site
    page.goto(f"{base}/")
    page.click("text=Get these notices by SMS or email")
    assert page.url == f"{base}/subscribe?lang=en"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.check("input[name=area][value=A1]")
    page.check("input[name=channel][value=email]")
    page.fill("#f-email", "resident@example.net")
    page.select_option("#f-language", "en")
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    page.click("section.subscribe > form button[type=submit]")
    page.wait_for_selector("h1:has-text('Check your inbox')")

    assert len(smtp_server.messages) == 1  # sent before the page answered
    text = smtp_server.messages[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(rf"{re.escape(base)}/subscribe/confirm/\S+", text)
    assert link, text
    with database.read() as session:
        assert [s.status for s in session.exec(select(Subscriber))] == ["pending"]

    page.goto(link.group(0))
    page.wait_for_selector("h1:has-text('Confirm your sign-up')")
    assert "r***@example.net" in page.inner_text("main")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('You are signed up')")
    assert "Zhongshan Rd" in page.inner_text("main")
    with database.read() as session:
        rows = session.exec(select(Subscriber)).all()
    assert [(s.address, s.area_code, s.status, s.consent_source) for s in rows] == [
        ("resident@example.net", "A1", "active", "web")
    ]
    assert rows[0].consent_at is not None


def test_a_form_from_another_site_is_refused(page: Any, site: tuple[str, Database]) -> None:
    base, database = site
    # A page elsewhere posting to our form: the browser sends no CSRF field that matches.
    page.set_content(
        f'<form method="post" action="{base}/subscribe"><input name="channel" value="email">'
        '<input name="email" value="victim@example.net"><input name="area" value="A1">'
        "<button>go</button></form>"
    )
    page.click("button")
    page.wait_for_selector("h1:has-text('This form has expired')")
    with database.read() as session:
        assert session.exec(select(Subscriber)).all() == []
