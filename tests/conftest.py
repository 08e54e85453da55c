"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), settings, the CLI.

PostgreSQL tests run when ``OUTAGE_NOTIFY_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it):
a throw-away database is created for the session and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import outage_notify.models  # noqa: F401  (registers the tables)
from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.settings import Settings, load_settings
from tests.fake_twilio import FakeTwilio, running

# The local SMTP server fixtures (smtp_server, smtp_server_factory, tls_certificates) and the
# email channel's (channel_for).
pytest_plugins = ["tests.smtp_server", "tests.channels.email_samples"]

POSTGRES_ENV = "OUTAGE_NOTIFY_TEST_POSTGRES_URL"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or credentials, Twilio's included."""
    for name in list(os.environ):
        if (name.startswith("OUTAGE_NOTIFY_") and name != POSTGRES_ENV) or name.startswith(
            "TWILIO_"
        ):
            monkeypatch.delenv(name)


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def create_postgres_database(base_url: str) -> str:
    """Create a fresh, empty database next to ``base_url`` and return its URL."""
    name = f"outage_notify_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_admin_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: set {POSTGRES_ENV}")
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (CI sets it)")
    return url


@pytest.fixture
def fresh_postgres_url(postgres_base_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own, dropped afterwards."""
    url = create_postgres_database(postgres_base_url)
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def _postgres_migrated(postgres_base_url: str) -> Iterator[str]:
    url = create_postgres_database(postgres_base_url)
    database = Database(url)
    migrations.upgrade(database)
    database.dispose()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrations.upgrade(database)
    database.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _empty_all(database: Database) -> None:
    """Delete every row and restart the id sequences (much faster than TRUNCATE here)."""
    with database.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).scalars()
        for sequence in list(sequences):
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database file of the test's own."""
    path = tmp_path / "outage-notify.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(_postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL database, emptied before the test."""
    database = Database(_postgres_migrated)
    _empty_all(database)
    database.dispose()
    return _postgres_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL (when configured)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A migrated, empty SQLite database, for tests that need not run on both."""
    database = Database(sqlite_url)
    yield database
    database.dispose()


def write_config(path: Path, values: dict[str, Any]) -> Path:
    """Write a TOML config file from a nested dict (strings, numbers, bools, lists)."""

    def render(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, list):
            return "[" + ", ".join(render(v) for v in value) + "]"
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    top = [f"{k} = {render(v)}" for k, v in values.items() if not isinstance(v, dict)]
    sections = [
        f"\n[{name}]\n" + "\n".join(f"{k} = {render(v)}" for k, v in table.items())
        for name, table in values.items()
        if isinstance(table, dict)
    ]
    path.write_text("\n".join(top) + "\n" + "\n".join(sections) + "\n", encoding="utf-8")
    return path


def base_config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """A config for tests: the given database, file backends under tmp_path."""
    return {
        "database_url": database_url,
        "public_url": "https://outages.example.org",
        "sms": {"backend": "file", "file_path": str(tmp_path / "outbox" / "sms.jsonl")},
        "email": {"backend": "file", "file_dir": str(tmp_path / "outbox" / "email")},
        "web": {"secret_key": "test-secret-key", "api_token": "test-api-token"},
    }


@pytest.fixture
def config_values(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """The test config as a dict; edit it before calling ``settings`` or ``run_cli``."""
    return base_config(tmp_path, database_url)


@pytest.fixture
def config_file(tmp_path: Path, config_values: dict[str, Any]) -> Callable[[], Path]:
    return lambda: write_config(tmp_path / "outage-notify.toml", config_values)


@pytest.fixture
def settings(config_file: Callable[[], Path]) -> Settings:
    return load_settings(config_file(), environ={})


@pytest.fixture
def run_cli(config_file: Callable[[], Path]) -> Callable[..., Result]:
    """Invoke the CLI in-process with the test config: ``run_cli("outages", "list")``."""
    from outage_notify.cli import cli
    from outage_notify.cli.base import AppContext

    def invoke(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        now: datetime | None = None,
    ) -> Result:
        """``now``: the commands' clock (an aware time), for commands that refuse --now."""
        path = config_file()
        obj = AppContext() if now is None else AppContext(clock=lambda: now)
        return CliRunner().invoke(
            cli,
            ["--config", str(path), *args],
            input=input,
            env=env,
            catch_exceptions=False,
            obj=obj,
        )

    return invoke


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio Messages API on a free port of 127.0.0.1 (see tests/fake_twilio/)."""
    with running() as fake:
        yield fake
