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


def test_healthz_reports_the_scheduler_and_the_backlog(settings: Settings, db: Database) -> None:
    from datetime import timedelta

    from outage_notify.delivery.outbox import expand_due
    from outage_notify.models import DaemonState
    from tests.factories import T0, add_area, add_customers, add_notice, add_outage

    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2)
        add_notice(session, add_outage(session), due=T0)
        add_notice(session, add_outage(session, title="later"), due=T0 + timedelta(hours=1))
        session.add(DaemonState(name="scheduler", holder="host:1", last_tick_at=T0))
    expand_due(db, T0)
    body = (
        TestClient(create_app(settings, db, clock=lambda: T0 + timedelta(hours=1)))
        .get("/healthz")
        .json()
    )
    assert body["scheduler"]["holder"] == "host:1"
    assert body["scheduler"]["stale"] is True  # an hour without a tick
    assert body["backlog"] == {"deliveries_due": 4, "notices_due": 1}
    fresh = TestClient(create_app(settings, db, clock=lambda: T0)).get("/healthz").json()
    assert fresh["scheduler"]["stale"] is False
