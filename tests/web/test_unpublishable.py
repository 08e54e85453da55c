"""One outage the publication cannot render (an open end in year 9999, stored before the
planning window was enforced) is logged and left out; every other outage's pages, feeds,
banner and CAP alerts stay 200, and ``/healthz`` names it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outage_notify.db import Database
from outage_notify.publishing.export import export_site
from outage_notify.settings import Settings
from tests.web.factory import NOW, City, add_outage

OPEN_ENDS = [
    pytest.param(datetime(9999, 12, 30, 16, 0, tzinfo=UTC), id="9999-12-31 00:00 local"),
    pytest.param(datetime(9999, 12, 31, 16, 0, tzinfo=UTC), id="past the calendar, local"),
    pytest.param(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), id="9999-12-31 23:59 UTC"),
]


def _add_open_end(db: Database, end: datetime) -> int:
    with db.session() as session:
        outage = add_outage(session, areas=["A1"], title="Open end", end=end)
        assert outage.id is not None
        return outage.id


@pytest.mark.parametrize("end", OPEN_ENDS)
def test_an_outage_that_cannot_be_rendered_leaves_the_others_at_200(
    client: TestClient, city: City, db: Database, end: datetime
) -> None:
    bad = _add_open_end(db, end)
    urls = [
        "/",
        "/?lang=en",
        "/feeds/outages.rss",
        "/feeds/outages.atom",
        "/feeds/outages.ics",
        "/feeds/cap.atom",
        "/banner.json",
        "/banner.json?area=A1",
        f"/outages/{city.ids['upcoming']}",
        f"/cap/{city.ids['upcoming']}-1.xml",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert "Upcoming A1" in response.text or url.startswith("/banner"), url
    rss = client.get("/feeds/outages.rss").text
    assert "Open end" not in rss
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert [u["outage"] for u in body["publication"]["unpublished"]] == [bad]
    # Its own page and alert are not found, not a server error.
    assert client.get(f"/cap/{bad}-1.xml").status_code == 404


def test_healthz_reports_nothing_unpublished_normally(client: TestClient, city: City) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["publication"] == {"unpublished": []}


def test_the_export_skips_the_outage_it_cannot_render(
    settings: Settings, city: City, db: Database, tmp_path: Path
) -> None:
    bad = _add_open_end(db, datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    result = export_site(settings, db, tmp_path / "site", now=NOW)
    assert f"outages/{city.ids['upcoming']}/index.html" in result.files
    assert f"outages/{bad}/index.html" not in result.files
    assert "Open end" not in (tmp_path / "site/feeds/outages.rss").read_text()
