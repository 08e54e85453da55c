"""The database: SQLite embedded by default, PostgreSQL to scale out.

SQLite runs in WAL mode with foreign keys on and a busy timeout; write transactions start
with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing half-way when a
read transaction tries to upgrade. Every time goes in as UTC and comes back timezone-aware.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    # Imported on use: SQLModel (and pydantic's model machinery under it) costs a tenth of a
    # CPU-second, which commands reading through SQLAlchemy Core (`outages list`) skip.
    from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive input is refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite has no time zone type; keep the UTC wall time so text comparison orders.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _SQLiteWriters:
    """Writers of one process take turns on a Python lock before ``BEGIN IMMEDIATE``.

    SQLite's busy handler sleeps 1, 2, 5, 10... ms between retries, so threads contending for
    the write lock lose milliseconds each time it is released after a fraction of one; a lock
    here wakes the next writer at once. Other processes still meet SQLite's own lock.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get("read_only"):
            conn.connection.driver_connection.execute("BEGIN DEFERRED")  # type: ignore[union-attr]
            return
        self.lock.acquire()
        try:
            # Straight to the driver: this runs for every transaction, twice per message.
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        except BaseException:
            self.lock.release()
            raise
        conn.info["holds_write_lock"] = True

    def end(self, conn: Connection) -> None:
        if conn.info.pop("holds_write_lock", False):
            self.lock.release()


class Database:
    """An engine plus the two kinds of session the code needs: write and read."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # A failed statement's message (and echo) would carry its bound values: phone numbers,
        # emails and message bodies, into the logs. Logs name recipients by id only.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            writers = _SQLiteWriters()
            event.listen(self.engine, "begin", writers.begin)
            event.listen(self.engine, "commit", writers.end)
            event.listen(self.engine, "rollback", writers.end)
        self._read_engine = self.engine.execution_options(read_only=True)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        database = make_url(self.url).database
        return Path(database) if self.is_sqlite and database and database != ":memory:" else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on error.

        Keep network calls outside: a transaction is never held across one.
        """
        from sqlmodel import Session

        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (on SQLite a deferred transaction that takes no write lock).

        Closing it ends the transaction without expiring what was loaded, so the objects
        stay readable after the block.
        """
        from sqlmodel import Session

        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A read-only SQLAlchemy Core connection, for reads that need no ORM objects."""
        with self._read_engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
