"""Expanding one notice to a whole city: the outbox's rows per second and the peak memory.

``BENCH_EXPAND`` customers (100,000 by default; 1,000,000 for the issue's aim) in one water
area, 60% of them located (inside the area's polygon, some only there), each with a phone and
most with an email: about 1.7 rows per customer. One "all" notice is expanded by
``outbox.expand_notice()`` in a fresh process, which reports its peak RSS (and what it held
before the expansion began). The baseline, in the same run on the same database: the same
rows, read back, inserted bare by the driver (``executemany`` of a plain INSERT in chunks of
5,000, one transaction) for a second notice; on PostgreSQL, ``COPY`` too.

Then the first notice's rows are marked sent and a ``changed`` notice of the next revision is
expanded to everyone too: its rows also record what each contact was last told, looked up per
chunk (delivery/told.py); its rate is printed next to the plain notice's.

SQLite always; PostgreSQL when ``OUTAGE_NOTIFY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``)
names a server: a scratch database is created and dropped.

    python -m bench expand
    BENCH_EXPAND=1000000 python -m bench expand
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CUSTOMERS = int(os.environ.get("BENCH_EXPAND", "100000"))
T0 = datetime(2026, 12, 1, tzinfo=UTC)
CHUNK = 5_000
AIM = 0.5


def postgres_server() -> str | None:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("OUTAGE_NOTIFY_TEST_POSTGRES_URL")


def scratch_postgres(server: str, name: str, *, drop: bool = False) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(False)


def populate(url: str, customers: int) -> int:
    """The city and one due notice; returns the notice's id."""
    import random

    from outage_notify import migrations
    from outage_notify.db import Database
    from outage_notify.models import Customer
    from tests.factories import add_area, add_notice, add_outage

    database = Database(url)
    migrations.upgrade(database)
    with database.session() as session:
        add_area(session, "W1", lon=121.0, lat=31.0)
        outage = add_outage(session, codes=["W1"], start=T0 + timedelta(days=2))
        notice_id = add_notice(session, outage, due=T0).id
    assert notice_id is not None
    table = Customer.__table__  # type: ignore[attr-defined]
    rng = random.Random(5)
    with database.engine.begin() as connection:
        created = table.c.created_at.type.dialect_impl(connection.dialect).bind_processor(
            connection.dialect
        )
        stamp = created(T0) if created else T0
        false = table.c.critical.type.dialect_impl(connection.dialect).bind_processor(
            connection.dialect
        )
        no = false(False) if false else False
        columns = (
            "account_id, name, phone, email, language, address, latitude, longitude, "
            "water_area, gas_area, channels, critical, phone_invalid, email_invalid, "
            "voice_invalid, landline, row_hash, created_at, updated_at"
        )
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        statement = f"INSERT INTO customer ({columns}) VALUES ({', '.join([marker] * 19)})"
        for start in range(0, customers, 10_000):
            rows = []
            for i in range(start, min(customers, start + 10_000)):
                located = rng.random() < 0.6
                rows.append(
                    (
                        f"A{i:08d}",
                        f"Customer {i}",
                        f"+86138{i:08d}",
                        f"c{i}@mail{i % 40}.example.com" if i % 3 else None,
                        "en" if i % 9 == 0 else "zh-CN",
                        "",
                        31.0 + rng.random() * 0.01 if located else None,
                        121.0 + rng.random() * 0.01 if located else None,
                        "W1" if not located or i % 10 else None,  # some only by polygon
                        None,
                        "",
                        no,
                        no,
                        no,
                        no,
                        no,
                        "",
                        stamp,
                        stamp,
                    )
                )
            connection.exec_driver_sql(statement, rows)
    database.dispose()
    return notice_id


def expand_in_child(url: str, notice_id: int) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_expand", "child", url, str(notice_id)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def peak_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and
    exec, so a child of a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(url: str, notice_id: int) -> None:
    from outage_notify.db import Database
    from outage_notify.delivery.outbox import expand_notice

    database = Database(url)
    with database.read() as session:  # connect and import everything before measuring
        session.connection()
    before = peak_mb()
    started = time.perf_counter()
    summary = expand_notice(database, notice_id, T0)
    seconds = time.perf_counter() - started
    peak = peak_mb()
    print(
        json.dumps({"seconds": seconds, "rows": summary.deliveries, "peak": peak, "before": before})
    )


def bare_insert(url: str, notice_id: int) -> dict[str, float]:
    """The same rows inserted bare for a second notice; seconds per way of inserting."""
    from sqlalchemy import text

    from outage_notify.db import Database
    from outage_notify.models import Delivery
    from tests.factories import add_notice

    database = Database(url)
    columns = [c.name for c in Delivery.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        rows = [
            tuple(row)
            for row in connection.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM delivery WHERE notice_id = {notice_id}"
            )
        ]
    where = columns.index("notice_id")
    results: dict[str, float] = {}
    ways = ["executemany"] + (["copy"] if database.engine.dialect.name == "postgresql" else [])
    for way in ways:
        with database.session() as session:
            from outage_notify.models import Notice, Outage

            notice = session.get(Notice, notice_id)
            assert notice is not None
            outage = session.get(Outage, notice.outage_id)
            assert outage is not None
            other = add_notice(session, outage, due=T0, kind=f"bare-{way}")
            other_id = other.id
        copied = [(*r[:where], other_id, *r[where + 1 :]) for r in rows]
        raw = database.engine.raw_connection()
        try:
            cursor = raw.cursor()
            started = time.perf_counter()
            if database.is_sqlite:
                cursor.execute("BEGIN")  # the engine's connections leave BEGIN to the caller
            if way == "copy":
                with cursor.copy(f"COPY delivery ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in copied:
                        copy.write_row(row)
            else:
                marker = "?" if database.engine.dialect.paramstyle == "qmark" else "%s"
                statement = (
                    f"INSERT INTO delivery ({', '.join(columns)}) "
                    f"VALUES ({', '.join([marker] * len(columns))})"
                )
                for start in range(0, len(copied), CHUNK):
                    cursor.executemany(statement, copied[start : start + CHUNK])
            raw.commit()
            results[way] = time.perf_counter() - started
        finally:
            raw.close()
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM delivery WHERE notice_id = :n"), {"n": other_id})
    database.dispose()
    return results


def change_notice(url: str, notice_id: int) -> int:
    """Every row of ``notice_id`` sent, the outage at revision 2 and a ``changed`` notice of
    it for everyone; returns the change notice's id."""
    from sqlalchemy import text

    from outage_notify.db import Database
    from outage_notify.models import Notice, Outage
    from tests.factories import add_notice

    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE delivery SET state = 'sent' WHERE notice_id = :n"), {"n": notice_id}
        )
    with database.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        outage = session.get(Outage, notice.outage_id)
        assert outage is not None
        outage.revision = 2
        changed = add_notice(session, outage, due=T0, kind="changed", revision=2)
        changed_id = changed.id
    database.dispose()
    assert changed_id is not None
    return changed_id


def run(name: str, url: str) -> list[str]:
    started = time.perf_counter()
    notice_id = populate(url, CUSTOMERS)
    built = time.perf_counter() - started
    expanded = expand_in_child(url, notice_id)
    bare = bare_insert(url, notice_id)
    changed = expand_in_child(url, change_notice(url, notice_id))
    rows = expanded["rows"]
    rate = rows / expanded["seconds"]
    lines = [
        f"{name}: {CUSTOMERS:,} customers built in {built:.0f} s; one notice, {rows:,} rows",
        f"  expand_notice(): {expanded['seconds']:.1f} s, {rate:,.0f} rows/s; peak RSS "
        f"{expanded['peak']:.0f} MB ({expanded['before']:.0f} MB before expanding)",
    ]
    for way, seconds in bare.items():
        bare_rate = rows / seconds
        lines.append(
            f"  bare {way} of the same rows: {seconds:.1f} s, {bare_rate:,.0f} rows/s; "
            f"expansion / that: {rate / bare_rate:.2f} (aim: at least {AIM})"
        )
    changed_rate = changed["rows"] / changed["seconds"]
    lines.append(
        f"  a change notice to all (last told looked up per chunk): {changed['seconds']:.1f} s, "
        f"{changed_rate:,.0f} rows/s, {changed_rate / rate:.2f} of the plain notice's; peak RSS "
        f"{changed['peak']:.0f} MB"
    )
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        for line in run("SQLite", f"sqlite:///{Path(directory) / 'expand.db'}"):
            print(line)
    server = postgres_server()
    if server is None:
        print("PostgreSQL: skipped (set OUTAGE_NOTIFY_TEST_POSTGRES_URL)")
        return
    name = f"bench_expand_{os.getpid()}"
    url = scratch_postgres(server, name)
    try:
        for line in run("PostgreSQL", url):
            print(line)
    finally:
        scratch_postgres(server, name, drop=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
