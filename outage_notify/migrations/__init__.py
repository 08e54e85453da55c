"""Alembic migrations, run by ``outage-notify init`` (create or upgrade; safe to repeat).

Alembic is imported only to migrate: every other command checks the schema's revision with
one query and a read of the migration files' headers (:func:`open_initialised`), because
importing alembic costs a fifth of a CPU-second that ``outages list`` should not pay.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from outage_notify.db import Database
from outage_notify.errors import OutageNotifyError

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
# Alembic's own table (``version_table``), and a migration file's header as alembic writes it.
VERSION_TABLE = "alembic_version"
_HEADER = re.compile(r"^(down_revision|revision)\s*=\s*(?:\"([^\"]*)\"|None)\s*$", re.MULTILINE)


def alembic_config(database: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database), revision)


def downgrade(database: Database, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database), revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(HERE)).get_current_head()


def stored_revision(database: Database) -> str | None:
    """What :func:`current_revision` says, read without alembic (None: no version table)."""
    # Read-only: on SQLite a plain connection would take the write lock (see db.py).
    with database.read_connection() as connection:
        if not connection.dialect.has_table(connection, VERSION_TABLE):
            return None
        found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return ",".join(sorted(found)) or None


def file_heads() -> list[str]:
    """The revisions no migration file names as its ``down_revision``: :func:`head_revision`,
    from the files' headers (``tests/test_migrations.py`` holds the two to the same answer)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (HERE / "versions").glob("*.py"):
        for key, value in _HEADER.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if key == "revision" else parents).add(value)
    return sorted(revisions - parents)


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
        found = stored_revision(database)
    except SQLAlchemyError as exc:
        database.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise OutageNotifyError(f"cannot open the database {shown}: {reason}") from None
    heads = file_heads()
    head = heads[0] if len(heads) == 1 else head_revision()  # alembic names a branch's problem
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
