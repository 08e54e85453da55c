from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from outage_notify.cli import cli
from outage_notify.db import Database
from outage_notify.models import Customer, OptOut, ServiceArea


def test_demo_loads_the_demo_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the demo makes its own SQLite database; no config needed
    result = CliRunner().invoke(cli, ["demo", "--dir", "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Demo city: 18 service areas, 5000 customers" in result.output
    database = Database(f"sqlite:///{tmp_path / 'run' / 'outage-notify.db'}")
    with database.read() as session:
        assert session.exec(select(func.count()).select_from(ServiceArea)).one() == 18
        assert session.exec(select(func.count()).select_from(Customer)).one() == 5000
        assert session.exec(select(func.count()).select_from(OptOut)).one() > 0
    database.dispose()
