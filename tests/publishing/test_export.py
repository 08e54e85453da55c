from __future__ import annotations

import json
from pathlib import Path

import feedparser
import icalendar
import pytest
from lxml import html as lxml_html

from outage_notify.db import Database
from outage_notify.errors import OutageNotifyError
from outage_notify.publishing.export import export_site, write_atomically
from outage_notify.settings import Settings
from tests.channels.test_cap import valid_alert
from tests.feed_validity import valid_atom
from tests.web.factory import HOSTILE, NOW, City, add_area, add_outage, build_city

# The export reads through the same code as the web app, tested on both databases there.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def city(db: Database) -> City:
    return build_city(db)


@sqlite_only
def test_the_export_is_laid_out_like_the_live_urls(
    db: Database, settings: Settings, city: City, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    result = export_site(settings, db, out, now=NOW)
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == set(result.files)
    assert {
        "feeds/outages.rss",
        "feeds/outages.atom",
        "feeds/outages.ics",
        "feeds/cap.atom",
        "banner.json",
        "banner.js",
        "banner/A1.json",
        "banner/A2.json",
        "banner/G1.json",
        "index.html",
        "static/site.css",
        f"outages/{city.ids['changed']}/index.html",
        f"cap/{city.ids['changed']}-1.xml",
        f"cap/{city.ids['changed']}-2.xml",
    } <= written
    assert result.outages == 7
    assert result.alerts == 10  # seven outages, three of them with two revisions
    assert result.areas == 3


@sqlite_only
def test_exported_documents_are_valid(
    db: Database, settings: Settings, city: City, tmp_path: Path
) -> None:
    export_site(settings, db, tmp_path, now=NOW)
    for name in ("outages.rss", "outages.atom", "cap.atom"):
        parsed = feedparser.parse((tmp_path / "feeds" / name).read_bytes())
        assert parsed.bozo == 0
        assert len(parsed.entries) == 7
    for name in ("outages.atom", "cap.atom"):
        data = (tmp_path / "feeds" / name).read_bytes()
        valid_atom(data, served_at=f"{settings.public_url}/feeds/{name}")
    calendar = icalendar.Calendar.from_ical((tmp_path / "feeds/outages.ics").read_bytes())
    assert len(calendar.walk("VEVENT")) == 7
    for alert in (tmp_path / "cap").iterdir():
        valid_alert(alert.read_bytes())


@sqlite_only
def test_the_exported_banner_carries_later_outages_for_the_script(
    db: Database, settings: Settings, city: City, tmp_path: Path
) -> None:
    export_site(settings, db, tmp_path, now=NOW)
    everything = json.loads((tmp_path / "banner.json").read_bytes())
    assert everything["area"] is None
    a1 = json.loads((tmp_path / "banner/A1.json").read_bytes())
    assert [o["areas"] for o in a1["outages"]] == [["A1"], ["A1"], ["A1", "A2"]]
    assert all(o["show_until"] > NOW.isoformat() for o in everything["outages"])


@sqlite_only
def test_exported_pages_are_static_and_escape_hostile_text(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with db.session() as s:
        add_area(s, "A1")
        outage = add_outage(s, title=HOSTILE)
    export_site(settings, db, tmp_path, now=NOW)
    for path in (tmp_path / "index.html", tmp_path / f"outages/{outage.id}/index.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in text
        root = lxml_html.fromstring(text)
        assert not root.xpath("//script | //img")
        assert not root.xpath("//nav[@class='languages']")  # ?lang= needs the live server
        assert not root.xpath("//a[contains(@href, '/subscribe')]")  # a static host has no form
        assert HOSTILE in [e.text_content() for e in root.xpath("//h1 | //h3")]


@sqlite_only
def test_exporting_again_replaces_files_and_leaves_no_temporary_ones(
    db: Database, settings: Settings, city: City, tmp_path: Path
) -> None:
    export_site(settings, db, tmp_path, now=NOW)
    first = (tmp_path / "feeds/outages.rss").read_bytes()
    with db.session() as s:
        add_outage(s, title="Added later")
    export_site(settings, db, tmp_path, now=NOW)
    assert (tmp_path / "feeds/outages.rss").read_bytes() != first
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]


@sqlite_only
def test_a_file_in_the_way_is_an_error_and_nothing_is_written(
    db: Database, settings: Settings, city: City, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    target.write_text("not a directory")
    with pytest.raises(OutageNotifyError, match="is not a directory"):
        export_site(settings, db, target, now=NOW)
    assert target.read_text() == "not a directory"


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feeds" / "outages.rss"
    write_atomically(path, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("outage_notify.publishing.export.os.replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == ["outages.rss"]
