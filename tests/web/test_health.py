from __future__ import annotations

from fastapi.testclient import TestClient

from outage_notify.db import Database
from outage_notify.settings import Settings
from outage_notify.web.app import create_app


def test_healthz_reports_a_reachable_database(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_reports_an_unreachable_database(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nodir" / "x.db"
    broken = Database(f"sqlite:///{missing}")
    missing.parent.rmdir()  # the directory vanished after start-up
    client = TestClient(create_app(settings, broken))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
