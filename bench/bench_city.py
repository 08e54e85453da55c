"""A whole city on one machine: each figure of issue 19 next to its bare baseline, as a table.

``BENCH_CITY`` customers (300,000 by default, the quick run; 1,000,000 for the full city), on
SQLite and, when ``OUTAGE_NOTIFY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``) names a
server, on PostgreSQL (a scratch database, dropped after). Rows, each in the same run as its
baseline:

- expanding one notice to everyone (``bench_expand``): rows/s next to bare ``executemany`` of
  the same rows, and the expanding process's peak RSS;
- planning's quiet-hours sizing (``timeline.sms_span``, count queries) next to the full
  ``target()`` it replaced;
- SMS dispatch against the fake Twilio answering at once (5,000 messages) and after 150 ms
  (600 messages), next to a bare 8-thread ``requests`` loop;
- ``customers import`` of a city-sized CSV next to bare csv + phonenumbers + sqlite3 (SQLite);
- start-up CPU of ``outages list`` next to ``import sqlalchemy, click``.

The public pages have their own run (``python -m bench web``: 500 and 5,000 outages).

    python -m bench city                     # 300,000 customers
    BENCH_CITY=1000000 python -m bench city  # the full city (about half an hour)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import bench_customer_import, bench_expand, bench_start

CUSTOMERS = int(os.environ.get("BENCH_CITY", "300000"))
INSTANT, SLOW, LATENCY = 5_000, 600, 0.15


def planning(url: str) -> tuple[float, float]:
    """Seconds of sms_span (counts) and of the full target() it replaced, on the city."""
    from sqlmodel import select

    from outage_notify.db import Database
    from outage_notify.models import Outage
    from outage_notify.planning import targeting, timeline
    from outage_notify.settings import Settings

    database = Database(url)
    with database.read() as session:
        outage = session.exec(select(Outage)).first()
        assert outage is not None
        started = time.perf_counter()
        timeline.sms_span(session, outage, Settings())
        counted = time.perf_counter() - started
        started = time.perf_counter()
        targeting.target(session, outage)
        listed = time.perf_counter() - started
    database.dispose()
    return counted, listed


def dispatch(url: str, twilio: str, count: int) -> tuple[float, float]:
    """Messages/s of the dispatcher and of the bare loop, ``count`` SMS each, in a database of
    their own (the city's expanded notice is past its deadline: it would be expired first)."""
    from bench.bench_dispatch import _bare, _engine
    from outage_notify import migrations
    from outage_notify.db import Database, utcnow
    from tests.factories import add_area, add_customers, add_notice, add_outage

    database = Database(url)
    migrations.upgrade(database)
    now = utcnow()
    with database.session() as session:
        add_area(session, "D1", lon=100.0, lat=20.0)
        add_customers(session, count, area="D1", email=None)
        outage = add_outage(session, codes=["D1"], start=now + timedelta(days=2))
        add_notice(session, outage, due=now - timedelta(minutes=1))
    baseline = _bare(twilio, count)
    dispatcher = _engine(twilio, database, rate=1_000_000.0)
    started = time.perf_counter()
    summary = dispatcher.run_once()
    rate = summary.results["sms/sent"] / (time.perf_counter() - started)
    database.dispose()
    return rate, baseline


def city(
    name: str, url: str, twilio: str, fresh: Callable[[str], str]
) -> list[tuple[str, Any, Any, str]]:
    from tests.processes import fake_script

    rows: list[tuple[str, Any, Any, str]] = []
    notice_id = bench_expand.populate(url, CUSTOMERS)
    expanded = bench_expand.expand_in_child(url, notice_id)
    bare = bench_expand.bare_insert(url, notice_id)
    rate = expanded["rows"] / expanded["seconds"]
    bare_rate = expanded["rows"] / bare["executemany"]
    rows.append(("expand one notice, rows/s", rate, bare_rate, "bare executemany"))
    rows.append(("  peak RSS while expanding, MB", expanded["peak"], None, "aim < 300"))
    counted, listed = planning(url)
    rows.append(("plan: quiet-hours sizing, s", counted, listed, "full target() (before)"))
    fake_script(twilio, delay=0.0)
    fast, fast_bare = dispatch(fresh("instant"), twilio, INSTANT)
    rows.append(("SMS dispatch, instant provider, msg/s", fast, fast_bare, "bare requests x8"))
    fake_script(twilio, delay=LATENCY)
    slow, slow_bare = dispatch(fresh("slow"), twilio, SLOW)
    fake_script(twilio, delay=0.0)
    rows.append(("SMS dispatch, 150 ms provider, msg/s", slow, slow_bare, "bare requests x8"))
    print(f"{name}: done", file=sys.stderr)
    return rows


def import_and_start() -> list[tuple[str, Any, Any, str]]:
    from outage_notify.db import Database
    from outage_notify.planning.customer_import import WRITE_CACHE_KIB, import_customers
    from outage_notify.settings import Settings

    bench_customer_import.ROWS = CUSTOMERS
    rows: list[tuple[str, Any, Any, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "customers.csv"
        bench_customer_import.generate(csv_path)
        db_path = Path(tmp) / "import.db"
        bench_customer_import.migrated(db_path)
        database = Database(f"sqlite:///{db_path}")
        started = time.perf_counter()
        import_customers(database, csv_path, settings=Settings(), actor="bench")
        rate = CUSTOMERS / (time.perf_counter() - started)
        database.dispose()
        bare_path = Path(tmp) / "bare.db"
        bench_customer_import.migrated(bare_path)
        bare = bench_customer_import.baseline(
            bare_path, csv_path, WRITE_CACHE_KIB, check_phones=True
        )
        rows.append(
            ("customers import, rows/s", rate, CUSTOMERS / bare, "csv+phonenumbers+sqlite3")
        )
        rows.append(
            (
                "  peak RSS of this process, MB",
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                None,
                "",
            )
        )
        python = sys.executable
        cwd = Path(tmp)
        bench_start.cpu_seconds([python, "-m", "outage_notify", "init"], cwd)
        low, high = bench_start.measure([python, "-m", "outage_notify", "outages", "list"], cwd)
        base, _ = bench_start.measure([python, "-c", "import sqlalchemy, click"], cwd)
        rows.append(
            ("outages list start-up, CPU-s", (low + high) / 2, base, "import sqlalchemy, click")
        )
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def main() -> None:
    from tests.processes import fake_twilio_process

    print(f"{CUSTOMERS:,} customers")
    # The import first: its peak RSS is then the process's own, before the rows the
    # expansion baselines read back.
    imported = import_and_start()
    tables: dict[str, list[tuple[str, Any, Any, str]]] = {}
    with fake_twilio_process() as twilio, tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        tables["SQLite"] = city(
            "SQLite",
            f"sqlite:///{folder / 'city.db'}",
            twilio,
            lambda tag: f"sqlite:///{folder / f'dispatch-{tag}.db'}",
        )
        server = bench_expand.postgres_server()
        if server is not None:
            names = [f"bench_city_{os.getpid()}"]

            def fresh(tag: str) -> str:
                names.append(f"bench_city_{os.getpid()}_{tag}")
                return bench_expand.scratch_postgres(server, names[-1])

            try:
                url = bench_expand.scratch_postgres(server, names[0])
                tables["PostgreSQL"] = city("PostgreSQL", url, twilio, fresh)
            finally:
                for name in names:
                    bench_expand.scratch_postgres(server, name, drop=True)
    tables["SQLite"] += imported
    print(f"{'':40} {'database':>10} {'figure':>10} {'baseline':>10} {'ratio':>6}  baseline is")
    for database, rows in tables.items():
        for label, figure, baseline, what in rows:
            ratio = f"{figure / baseline:.2f}" if baseline else "-"
            print(
                f"{label:40} {database:>10} {_cell(figure):>10} {_cell(baseline):>10} "
                f"{ratio:>6}  {what}"
            )


if __name__ == "__main__":
    main()
