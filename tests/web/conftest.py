"""Fixtures for the web tests: a small city in the database and a client at a fixed time."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from outage_notify.db import Database
from outage_notify.settings import Settings
from outage_notify.web.app import create_app
from tests.web.factory import NOW, City, build_city


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def city(db: Database) -> City:
    return build_city(db)


@pytest.fixture
def client(settings: Settings, db: Database, clock: Clock) -> TestClient:
    return TestClient(create_app(settings, db, clock=clock))
