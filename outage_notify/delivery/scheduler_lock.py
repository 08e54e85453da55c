"""One scheduler per database.

SQLite: an exclusive ``flock`` on a file beside the database; a second ``outage-notify run``
is refused with a message naming the holder. PostgreSQL: a session-level advisory lock elects
the scheduler among any number of processes, and another takes over when the holder dies.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from outage_notify.db import Database
from outage_notify.errors import OutageNotifyError

ADVISORY_KEY = 0x6F75_7461_6765  # "outage": one key for every outage-notify database


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SchedulerLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class FileLock:
    """Beside ``X.db``: ``X.db.scheduler.lock``, holding the holder's host:pid."""

    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + ".scheduler.lock")
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(holder_name() + "\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection kept for the purpose."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self.still_held():
            return True
        self.release()
        try:
            connection = self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
        except SQLAlchemyError:
            return False
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:  # the connection died, and the lock with it
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None


def scheduler_lock(database: Database) -> FileLock | AdvisoryLock:
    path = database.sqlite_path
    if database.is_sqlite:
        if path is None:
            raise OutageNotifyError("the daemon needs a file database, not sqlite :memory:")
        return FileLock(path)
    return AdvisoryLock(database)
