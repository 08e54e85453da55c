"""What the dispatch benchmarks share: scratch databases on SQLite and PostgreSQL, a table.

PostgreSQL is the server at ``BENCH_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; empty skips it): each run creates a
database of its own there and drops it afterwards, so nothing of a test database is touched.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outage_notify import migrations
from outage_notify.db import Database

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available() -> bool:
    if not POSTGRES_URL:
        return False
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            return True
    except Exception:  # no server: the table says so instead of failing the whole run
        return False
    finally:
        engine.dispose()


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_available() else ["sqlite"]


@contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """A new, migrated database; yields its URL and removes it afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        url = f"sqlite:///{directory / name}.db"
        _migrate(url)
        yield url
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    database = Database(url)
    try:
        migrations.upgrade(database)
    finally:
        database.dispose()


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns as wide as their widest cell."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def run_together(target: Callable[..., None], args: tuple[Any, ...], n: int) -> tuple[int, float]:
    """Start ``n`` spawned processes of ``target(*args, ready, go, results)``, release them
    together once all are ready, and return (what they sent in all, seconds from the release
    to the last one's end); each puts its pid on ``ready`` and ``(sent, monotonic end)`` on
    ``results``."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [context.Process(target=target, args=(*args, ready, go, results)) for _ in range(n)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    started = time.monotonic()
    go.set()
    finished = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(30)
    return sum(sent for sent, _at in finished), max(at for _sent, at in finished) - started


DISPATCH_HEADER = ["database", "latency", "messages", "engine msg/s", "bare msg/s", "ratio", "dups"]


def dispatch_row(
    backend: str, latency: float, count: int, rate: float, baseline: float, duplicates: int
) -> list[str]:
    """One row under :data:`DISPATCH_HEADER`: the engine's rate beside the bare loop's."""
    return [
        backend,
        f"{latency * 1000:.0f} ms",
        f"{count:,}",
        f"{rate:,.0f}",
        f"{baseline:,.0f}",
        f"{rate / baseline:.2f}x",
        str(duplicates),
    ]
