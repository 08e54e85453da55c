from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import outage_notify.models  # noqa: F401  (registers the tables)
from outage_notify import migrations
from outage_notify.db import Database

EXPECTED_TABLES = {
    "alembic_version",
    "audit_event",
    "customer",
    "delivery",
    "escalation",
    "escalation_event",
    "inbound_message",
    "notice",
    "opt_out",
    "outage",
    "outage_revision",
    "service_area",
    "subscriber",
}


def _check_upgrade_from_empty(url: str) -> None:
    database = Database(url)
    try:
        assert migrations.current_revision(database) is None
        assert migrations.stored_revision(database) is None
        migrations.upgrade(database)
        assert migrations.current_revision(database) == migrations.head_revision()
        assert migrations.stored_revision(database) == migrations.head_revision()
        assert set(inspect(database.engine).get_table_names()) >= EXPECTED_TABLES
        # The migrations describe exactly the models: no table, column or index missing.
        with database.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
        # Down and up again: every migration is reversible.
        migrations.downgrade(database, "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(database)
        assert migrations.current_revision(database) == migrations.head_revision()
    finally:
        database.dispose()


def test_upgrade_from_empty_on_sqlite(tmp_path: Path) -> None:
    _check_upgrade_from_empty(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_upgrade_from_empty_on_postgresql(fresh_postgres_url: str) -> None:
    _check_upgrade_from_empty(fresh_postgres_url)


def test_the_heads_read_from_the_files_are_alembics() -> None:
    # open_initialised checks the schema without importing alembic, from the files' headers.
    assert migrations.file_heads() == [migrations.head_revision()]


def test_init_twice_is_harmless(run_cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    first = run_cli("init")
    assert first.exit_code == 0, first.output
    second = run_cli("init", "--json")
    assert second.exit_code == 0, second.output
    assert '"changed": false' in second.output
    assert migrations.current_revision(db) == migrations.head_revision()


def test_init_creates_a_missing_sqlite_database(run_cli, config_values, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sub" / "new.db"
    config_values["database_url"] = f"sqlite:///{path}"
    result = run_cli("init")
    assert result.exit_code == 0, result.output
    assert "Created the database" in result.output
    assert path.exists()
