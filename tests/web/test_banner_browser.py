"""The embeddable banner in headless Chromium (Debian's, never a browser downloaded by a tool).

The app runs under uvicorn in a thread on a free 127.0.0.1 port; the host pages are served by a
second small server on another port, another origin, so CORS is exercised as on a real utility
site. (Both are on loopback: Chromium refuses a public page's requests to loopback.) The data
is placed around the real current time, because the browser and the server both read the real
clock here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from outage_notify import migrations
from outage_notify.db import Database, utcnow
from outage_notify.models import Outage
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
from tests.conftest import base_config, write_config
from tests.web.factory import HOSTILE, add_area, add_outage, revise

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
PWNED = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

pytestmark = pytest.mark.browser


def require_chromium() -> None:
    reason = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the browser tests need the playwright package (pip install -e '.[test]')"
    if not reason and not CHROMIUM.exists():
        reason = (
            f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run them")
    if reason:
        pytest.skip(reason)


class ThreadedServer:
    """uvicorn serving the app from a thread, on a socket bound before it starts."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]})

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:  # a real server binding: nothing to fake here
            assert self.thread.is_alive(), "uvicorn stopped"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.socket.close()


class Site:
    def __init__(self, database: Database, base: str) -> None:
        self.database = database
        self.base = base
        self.count = 0

    def area(self) -> str:
        """A fresh area (tests share the server, not their areas)."""
        self.count += 1
        code = f"B{self.count}"
        with self.database.session() as s:
            add_area(
                s, code, name=f"{code} 街道", name_en=f"{code} Street", lon=121.4 + self.count / 100
            )
        return code

    def outage(self, area: str, *, title: str, hours_ahead: float = 3, **kw: Any) -> Outage:
        with self.database.session() as s:
            start = utcnow().replace(microsecond=0) + timedelta(hours=hours_ahead)
            created = utcnow() - timedelta(days=1)
            return add_outage(s, areas=[area], title=title, start=start, created=created, **kw)

    def revise(self, outage: Outage) -> None:
        with self.database.session() as s:
            row = s.get(Outage, outage.id)
            assert row is not None
            revise(s, row, "extended", at=utcnow(), end=row.end_at + timedelta(hours=1))


class HostPages:
    """The utility's own site: whatever HTML a test puts under a path."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.base = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = self.pages.get(scope["path"], "not found").encode()
        status = 200 if scope["path"] in self.pages else 404
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def host() -> Iterator[HostPages]:
    require_chromium()
    pages = HostPages()
    with ThreadedServer(pages) as server:
        pages.base = f"http://127.0.0.1:{server.port}"
        yield pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_chromium()
    directory = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{directory / 'outage-notify.db'}"
    database = Database(url)
    migrations.upgrade(database)
    values = base_config(directory, url)
    with ThreadedServer(
        create_app(load_settings(write_config(directory / "c.toml", values), environ={}), database)
    ) as server:
        yield Site(database, f"http://127.0.0.1:{server.port}")
    database.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    yield context
    context.close()


HOSTILE_STYLES = """
  /* hostile page styles: they must not reach into the banner */
  p { color: rgb(255, 0, 0) !important; }
  div, button { display: inline; background: lime !important; font-size: 40px; }
  .i, strong { visibility: hidden; }
"""


def host_html(script_src: str, area: str, lang: str = "en", styles: str = HOSTILE_STYLES) -> str:
    """A utility's own home page, embedding the banner with one tag."""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>City Water</title>
<style>
  body {{ margin: 0; font-family: Georgia, serif; background: #f7f7f2; color: #223; }}
  header {{ background: #0d3b66; color: white; padding: 1.2rem 2rem; font-size: 1.6rem; }}
  nav a {{ color: #cfe3ff; margin-right: 1.2rem; font-size: 1rem; }}
  main {{ padding: 1.5rem 2rem; max-width: 46rem; line-height: 1.6; }}
  {styles}
</style></head>
<body>
<header>City Water<nav><a href="#">Pay a bill</a><a href="#">Report a leak</a>
<a href="#">Contact</a></nav></header>
<script src="{script_src}" data-area="{area}" async></script>
<main><h1>Welcome</h1><p class="own">Pay your bill, report a leak, or read about water quality.</p>
<button class="own">A host button</button></main>
</body></html>"""


def host_page(context: Any, host: HostPages, site: Site, *, area: str, lang: str = "en") -> Any:
    """The host page on its own origin, with the banner script from the app's."""
    path = f"/{area}-{lang}.html"
    host.pages[path] = host_html(f"{site.base}/banner.js", area, lang)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.host_url = f"{host.base}{path}"
    # A routed request skips the HTTP cache: each load asks the server (max-age=60 otherwise).
    page.route("**/banner.json*", lambda route: route.continue_())
    return page


def load(page: Any, expect_banner: bool = True) -> None:
    with page.expect_response(lambda r: "/banner.json" in r.url) as response:
        page.goto(page.host_url)
    assert response.value.status == 200
    if expect_banner:
        page.wait_for_selector("outage-notify-banner [role=status]")
    else:
        page.wait_for_load_state("networkidle")


def items(page: Any) -> list[str]:
    return [
        t.strip()
        for t in page.locator("outage-notify-banner [role=status] strong").all_inner_texts()
    ]


def test_the_banner_shows_for_an_affected_area_and_not_for_another(
    context: Any, host: HostPages, site: Site
) -> None:
    affected, other = site.area(), site.area()
    site.outage(affected, title="Main replacement on Zhongshan Rd")
    page = host_page(context, host, site, area=affected)
    load(page)
    assert items(page) == ["Main replacement on Zhongshan Rd"]
    assert "Planned water shutoff" in page.locator("outage-notify-banner p").inner_text()
    link = page.locator("outage-notify-banner a[href^=http]").get_attribute("href")
    assert link.startswith("https://outages.example.org/outages/")
    # The hotline: a tap calls it.
    assert page.locator("outage-notify-banner a[href^=tel]").get_attribute("href") == "tel:12319"

    elsewhere = host_page(context, host, site, area=other)
    load(elsewhere, expect_banner=False)
    assert elsewhere.locator("outage-notify-banner").count() == 0


def test_dismissal_is_remembered_per_revision(context: Any, host: HostPages, site: Site) -> None:
    area = site.area()
    outage = site.outage(area, title="Valve work")
    page = host_page(context, host, site, area=area)
    load(page)
    page.locator("outage-notify-banner button").click()
    assert page.locator("outage-notify-banner").count() == 0
    load(page, expect_banner=False)  # reload: still dismissed
    assert page.locator("outage-notify-banner").count() == 0
    site.revise(outage)  # a new revision shows again
    load(page)
    assert items(page) == ["Valve work"]


@pytest.mark.parametrize("key", ["Enter", " ", "Escape"])
def test_the_keyboard_closes_an_item(context: Any, host: HostPages, site: Site, key: str) -> None:
    area = site.area()
    site.outage(area, title="First")
    site.outage(area, title="Second", hours_ahead=5)
    page = host_page(context, host, site, area=area)
    load(page)
    assert items(page) == ["First", "Second"]
    button = page.locator("outage-notify-banner button").first
    assert button.get_attribute("aria-label") == "Dismiss notice"
    if key == "Escape":
        page.locator("outage-notify-banner a").first.focus()
    else:
        button.focus()
    page.keyboard.press(key)
    assert items(page) == ["Second"]


def test_no_script_from_the_data_runs(context: Any, host: HostPages, site: Site) -> None:
    area = site.area()
    site.outage(area, title=f"{HOSTILE} {PWNED}"[:120], description=PWNED)
    page = host_page(context, host, site, area=area)
    load(page)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert items(page) == [f"{HOSTILE} {PWNED}"[:120].strip()]
    shadow_markup = page.evaluate(
        "document.querySelector('outage-notify-banner').shadowRoot.innerHTML"
    )
    assert "<script" not in shadow_markup
    assert "<img" not in shadow_markup


def test_styles_do_not_leak_either_way(context: Any, host: HostPages, site: Site) -> None:
    area = site.area()
    site.outage(area, title="Style check")
    page = host_page(context, host, site, area=area)
    load(page)
    inner = page.locator("outage-notify-banner p")
    assert inner.evaluate("e => getComputedStyle(e).color") == "rgb(27, 27, 27)"
    assert (
        page.locator("outage-notify-banner strong").evaluate("e => getComputedStyle(e).visibility")
        == "visible"
    )
    assert (
        page.locator("outage-notify-banner button").evaluate("e => getComputedStyle(e).display")
        == "block"
    )
    # the banner's own rules do not touch the host's elements
    assert page.locator("button.own").evaluate("e => getComputedStyle(e).fontSize") == "40px"
    assert page.locator("p.own").evaluate("e => getComputedStyle(e).color") == "rgb(255, 0, 0)"


def test_the_language_follows_the_page(context: Any, host: HostPages, site: Site) -> None:
    area = site.area()
    site.outage(area, title="语言")
    page = host_page(context, host, site, area=area, lang="zh-CN")
    load(page)
    assert "计划停水" in page.locator("outage-notify-banner p").inner_text()
    assert page.locator("outage-notify-banner button").get_attribute("aria-label") == "关闭通知"


def test_a_static_copy_shows_each_item_in_its_own_time(
    context: Any, host: HostPages, site: Site
) -> None:
    """Exported banner.json on a static host: no filtering server, the script decides."""
    from channels.banner import BANNER_JS

    now = utcnow()

    def item(n: int, show_from: timedelta, until: timedelta, area: str = "S1") -> dict[str, Any]:
        return {
            "id": n,
            "revision": 1,
            "state": "PLANNED",
            "title": f"item {n}",
            "text": {"en": "x"},
            "url": "javascript:window.__pwned=3",
            "areas": [area],
            "show_from": (now + show_from).isoformat(),
            "show_until": (now + until).isoformat(),
        }

    data = {
        "default_language": "en",
        "outages": [
            item(1, -timedelta(hours=1), timedelta(hours=1)),
            item(2, timedelta(hours=1), timedelta(hours=5)),  # not yet
            item(3, -timedelta(hours=5), -timedelta(hours=1)),  # over
            item(4, -timedelta(hours=1), timedelta(hours=1), area="S2"),  # another area
        ],
    }
    import json

    page = context.new_page()
    page.route(
        "https://static.test/banner.js",
        lambda r: r.fulfill(body=BANNER_JS, content_type="text/javascript"),
    )
    page.route(
        "https://static.test/banner.json*",
        lambda r: r.fulfill(
            body=json.dumps(data),
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
        ),
    )
    host.pages["/static.html"] = (
        '<html lang="en"><body><p>Host</p>'
        '<script src="https://static.test/banner.js" data-area="S1" async></script></body></html>'
    )
    page.goto(f"{host.base}/static.html")
    page.wait_for_selector("outage-notify-banner [role=status]")
    assert items(page) == ["item 1"]
    # not an http(s) link: left out
    assert page.locator("outage-notify-banner a[href^=http]").count() == 0


def test_screenshot_of_a_host_page_with_the_banner(
    context: Any, host: HostPages, tmp_path: Path
) -> None:
    """docs/screenshot.png, made the same on every run: a fixed clock in the app and the page."""
    from fastapi.testclient import TestClient

    from channels.banner import BANNER_JS
    from tests.web.factory import NOW

    url = f"sqlite:///{tmp_path / 'shot.db'}"
    database = Database(url)
    migrations.upgrade(database)
    with database.session() as s:
        add_area(s, "A1", name="中山路", name_en="Zhongshan Road")
        add_outage(s, title="Water main replacement", start=NOW + timedelta(hours=26), hours=5)
        valve = add_outage(s, title="Valve replacement", start=NOW + timedelta(hours=50))
        revise(s, valve, "cancelled", at=NOW - timedelta(hours=2))
    settings = load_settings(write_config(tmp_path / "c.toml", base_config(tmp_path, url)), {})
    app = TestClient(create_app(settings, database, clock=lambda: NOW))
    banner_json = app.get("/banner.json?area=A1").content
    database.dispose()

    public = "https://outages.example.org"
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    page.route(
        f"{public}/banner.js", lambda r: r.fulfill(body=BANNER_JS, content_type="text/javascript")
    )
    page.route(
        f"{public}/banner.json*",
        lambda r: r.fulfill(
            body=banner_json,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
        ),
    )
    host.pages["/home.html"] = host_html(f"{public}/banner.js", "A1", styles="")
    page.goto(f"{host.base}/home.html")
    page.wait_for_selector("outage-notify-banner [role=status]")
    assert items(page) == ["Water main replacement", "Valve replacement"]
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1000, "height": 330})
    assert SCREENSHOT.stat().st_size > 10_000
