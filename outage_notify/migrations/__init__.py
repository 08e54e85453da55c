"""Alembic migrations, run by ``outage-notify init`` (create or upgrade; safe to repeat)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from outage_notify.db import Database
from outage_notify.errors import OutageNotifyError

HERE = Path(__file__).parent


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def downgrade(database: Database, revision: str) -> None:
    command.downgrade(alembic_config(database), revision)


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(HERE)).get_current_head()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_initialised(url: str) -> Database:
    """The database at ``url``, once it is known to have been created by ``init`` and to be at
    the current schema; otherwise one line saying to run ``outage-notify init``.

    A SQLite file is looked for before connecting: connecting would create an empty one.
    """
    shown = make_url(url).render_as_string(hide_password=True)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise OutageNotifyError(
            f"no database at {path.resolve()}: run `outage-notify init` first "
            f"(database_url = {shown})"
        )
    database = Database(url)
    try:
        found = current_revision(database)
    except SQLAlchemyError as exc:
        database.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise OutageNotifyError(f"cannot open the database {shown}: {reason}") from None
    head = head_revision()
    if found is None:
        database.dispose()
        raise OutageNotifyError(
            f"the database {shown} has no outage-notify tables: run `outage-notify init` first"
        )
    if found != head:
        database.dispose()
        raise OutageNotifyError(
            f"the database {shown} is at schema revision {found}, this version needs {head}: "
            "run `outage-notify init` to upgrade it"
        )
    return database
