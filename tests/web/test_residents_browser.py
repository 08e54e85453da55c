"""The residents' side in headless Chromium (Debian's): "am I affected?" by location and by
account number, the phone layouts (390 px) of the history table and the annual report, and
axe-core's accessibility checks of /subscribe and the banner page.

axe-core comes from the npm registry, installed by ``make install`` under ``.venv/node``; it
is injected into the page (``bypass_csp``: the pages' CSP allows only their own scripts).
The data sits around the real current time: the browser and the server read the real clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_notify import migrations
from outage_notify.db import Database, utcnow
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
from tests.conftest import base_config, write_config
from tests.factories import add_customer
from tests.report_seeds import seed_year
from tests.web.factory import add_area, add_outage, revise
from tests.web.test_banner_browser import CHROMIUM, CHROMIUM_ARGS, ThreadedServer, require_chromium

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules" / "axe-core"
PHONE = {"width": 390, "height": 800}
LONG_REASON = (
    "The contractor's excavator uncovered an unrecorded telecommunications duct beside the "
    "distribution main, so the connection was rescheduled"
)


def axe_script() -> Path:
    script = AXE / "axe.min.js"
    if not script.exists():
        reason = f"the accessibility checks need axe-core at {script} (make install, with npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return script


class Site:
    def __init__(self, base: str, database: Database, ids: dict[str, int]) -> None:
        self.base = base
        self.database = database
        self.ids = ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_chromium()
    directory = tmp_path_factory.mktemp("residents")
    url = f"sqlite:///{directory / 'outage-notify.db'}"
    database = Database(url)
    migrations.upgrade(database)
    seed_year(database)  # areas W1, W2, G1 and a year of outages for /reports/2026
    now = utcnow().replace(microsecond=0)
    with database.session() as s:
        area = add_area(s, "XF", name="学府供水压力区", name_en="Xuefu pressure zone", lon=121.6)
        area.description = "学府路1-300号、文教街"
        s.add(area)
        add_customer(s, "88001234", phone="+8613900000001", water_area="W2")
        upcoming = add_outage(s, areas=["XF"], title="Valve replacement, Xuefu", start=now)
        other = add_outage(
            s, areas=["W2"], title="Meter exchange", start=now + timedelta(days=1), created=now
        )
        history = add_outage(s, areas=["XF"], title="Main relining", start=now + timedelta(days=3))
        for day in range(1, 5):
            revise(
                s,
                history,
                "rescheduled",
                at=now - timedelta(days=5 - day),
                start=now + timedelta(days=3 + day),
                end=now + timedelta(days=3 + day, hours=6),
                reason=LONG_REASON,
            )
        ids = {"upcoming": upcoming.id or 0, "other": other.id or 0, "history": history.id or 0}
    values = base_config(directory, url)
    settings = load_settings(write_config(directory / "c.toml", values), environ={})
    with ThreadedServer(create_app(settings, database)) as server:
        yield Site(f"http://127.0.0.1:{server.port}", database, ids)
    database.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def phone(browser: Any, **options: Any) -> Any:
    return browser.new_context(viewport=PHONE, locale="en-GB", **options)


def test_use_my_location_finds_the_areas_and_their_outages(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    # Inside XF (121.6..121.61 x 31.23..31.24): the position the browser is told to report.
    context = phone(browser, geolocation={"latitude": 31.235, "longitude": 121.605}, permissions=[])
    context.grant_permissions(["geolocation"], origin=site.base)
    page = context.new_page()
    page.goto(f"{site.base}/?lang=en")
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    page.click("text=Use my location")
    page.wait_for_selector("#lookup-areas")
    page.screenshot(path=str(tmp_path / "affected.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.url == f"{site.base}/affected?lang=en"
    areas = page.inner_text("#lookup-areas")
    assert "Xuefu pressure zone" in areas
    assert "学府路1-300号、文教街" in areas
    assert "Valve replacement, Xuefu" in page.inner_text("#lookup-outages")
    page.click("#lookup-subscribe")
    assert page.is_checked("input[name=area][value=XF]")
    assert page.evaluate("[...document.querySelectorAll('input[name=area]:checked')].length") == 1
    context.close()


def test_a_refused_location_says_so_and_the_account_number_still_works(
    browser: Any, site: Site
) -> None:
    context = phone(browser)  # no permission granted: geolocation fails
    page = context.new_page()
    page.goto(f"{site.base}/subscribe?lang=en")
    page.click("text=Use my location")
    page.wait_for_selector("#locate-status:has-text('not available')")
    page.fill("#f-account", "88001234")
    page.click("form.account button")
    page.wait_for_selector("#lookup-areas")
    assert "Meter exchange" in page.inner_text("#lookup-outages")
    assert "8613900000001" not in page.content()
    page.goto(f"{site.base}/?lang=en")
    page.fill("#f-account", "NO-SUCH-ACCOUNT")
    page.click("form.account button")
    page.wait_for_selector("#lookup-answer")
    assert "No current or upcoming shutoffs found" in page.inner_text("#lookup-answer")
    context.close()


WORDS_FIT = """() => {
  const cells = [...document.querySelectorAll('main td, main th')];
  const broken = cells.filter(c => {
    const s = getComputedStyle(c);
    return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all'
      || c.scrollWidth > c.clientWidth + 1;
  }).map(c => c.textContent.trim().slice(0, 40));
  const wide = [...document.querySelectorAll('main table')]
    .filter(t => t.getBoundingClientRect().right > innerWidth)
    .map(t => (t.previousElementSibling || t).textContent.trim().slice(0, 40));
  return {width: document.documentElement.scrollWidth, cells: cells.length, broken, wide};
}"""


@pytest.mark.parametrize("path", ["/outages/{history}?lang=en", "/reports/2026?lang=en"])
def test_tables_fit_a_phone_without_breaking_words(
    browser: Any, site: Site, path: str, tmp_path: Path
) -> None:
    context = phone(browser)
    page = context.new_page()
    page.goto(site.base + path.format(**site.ids))
    result = page.evaluate(WORDS_FIT)
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert result["cells"] > 5
    assert result["width"] <= PHONE["width"], result
    assert result["broken"] == [], result
    context.close()


def moderate_findings(page: Any) -> list[str]:
    page.add_script_tag(path=str(axe_script()))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in found
        if v["impact"] in ("moderate", "serious", "critical")
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/subscribe?lang=en",
        "/subscribe?lang=zh-CN",
        "/banner?area=XF",
        "/banner",
        "/?lang=en",
        "/outages/{history}",
    ],
)
def test_no_moderate_accessibility_findings(browser: Any, site: Site, path: str) -> None:
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(site.base + path.format(**site.ids))
    assert moderate_findings(page) == []
    context.close()


def test_the_hotline_is_a_tel_link_on_the_banner_page(browser: Any, site: Site) -> None:
    context = phone(browser)
    page = context.new_page()
    page.goto(f"{site.base}/banner?area=XF&lang=en")
    link = page.locator("main .item a[href^='tel:']")
    assert link.get_attribute("href") == "tel:12319"
    assert link.inner_text() == "12319"
    assert "Hotline 12319" in page.inner_text("main .item")  # the text reads as before
    context.close()
