from __future__ import annotations

import json
from pathlib import Path

import pytest

from outage_notify.db import Database
from tests.web.factory import build_city

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_export_prints_a_summary(run_cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_city(db)
    result = run_cli("feeds", "export", str(tmp_path / "out"), "--now", "2026-12-01T08:00")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote ")
    assert "7 outages, 10 CAP alerts, banners for 3 areas" in result.output
    assert (tmp_path / "out" / "feeds" / "outages.rss").is_file()


def test_export_json(run_cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_city(db)
    result = run_cli(
        "feeds", "export", str(tmp_path / "out"), "--now", "2026-12-01T08:00+08:00", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outages"] == 7
    assert "feeds/cap.atom" in data["files"]
    assert data["directory"] == str(tmp_path / "out")


def test_the_export_time_without_offset_is_local(run_cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_city(db)
    # 13:01 local is just after "Live A2" ended (07:00-13:00 local): off the banner
    run_cli("feeds", "export", str(tmp_path / "a"), "--now", "2026-12-01T12:59")
    run_cli("feeds", "export", str(tmp_path / "b"), "--now", "2026-12-01T13:01")
    before = json.loads((tmp_path / "a" / "banner" / "A2.json").read_bytes())["outages"]
    after = json.loads((tmp_path / "b" / "banner" / "A2.json").read_bytes())["outages"]
    assert [o["active"] for o in before][:1] == [True]
    assert True not in [o["active"] for o in after]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", ""])
def test_a_bad_time_is_a_usage_error(run_cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("feeds", "export", str(tmp_path / "out"), "--now", value)
    assert result.exit_code == 2
    assert "ISO 8601" in result.output
    assert not (tmp_path / "out").exists()


def test_a_file_in_the_way_is_an_error(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "out").write_text("x")
    result = run_cli("feeds", "export", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert (tmp_path / "out").read_text() == "x"
