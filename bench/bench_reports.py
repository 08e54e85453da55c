"""The reports on a city of 200,000 customers.

Figure 1: seconds for ``reports.outage_report()`` on an outage over 40 of 200 areas (about
40,000 affected premises, two notices expanded by the real outbox, about 130,000 deliveries
with a realistic mix of states). Baseline, measured in the same run: the bare reads any such
report needs, ``targeting.match_customers()`` for the outage plus one GROUP BY over its
deliveries.

Figure 2: seconds for ``reports_annual.annual_report()`` over a year of 101 outages (the big
one and 100 over 2 areas each, one notice each). Baseline: ``match_customers()`` for each of
them, the part no figure of customer-hours can skip.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import col

from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.delivery.outbox import expand_due
from outage_notify.models import Delivery, Notice, Outage
from outage_notify.planning.matching import match_customers
from outage_notify.reports.annual import annual_report
from outage_notify.reports.outage_report import outage_report
from outage_notify.settings import Settings

CUSTOMERS = 200_000
COLUMNS, ROWS = 20, 10  # 200 areas on a grid
CELL = 0.01
LON0, LAT0 = 121.0, 31.0
BIG_AREAS = 40
YEAR_OUTAGES = 100
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _cell(code: int) -> tuple[float, float]:
    return LON0 + (code % COLUMNS) * CELL, LAT0 + (code // COLUMNS) * CELL


def _square(code: int) -> dict[str, object]:
    lon, lat = _cell(code)
    ring = [[lon, lat], [lon + CELL, lat], [lon + CELL, lat + CELL], [lon, lat + CELL], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _iso(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(sep=" ")


def build(path: Path) -> None:
    database = Database(f"sqlite:///{path}")
    migrations.upgrade(database)
    database.dispose()
    rng = random.Random(11)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO service_area (code, name, utility, geometry, min_lon, min_lat, max_lon,"
        " max_lat, created_at, updated_at) VALUES (?, ?, 'water', ?, ?, ?, ?, ?, '2026-01-01',"
        " '2026-01-01')",
        [
            (
                f"W{c:03d}",
                f"Zone {c}",
                json.dumps(_square(c)),
                *_cell(c),
                _cell(c)[0] + CELL,
                _cell(c)[1] + CELL,
            )
            for c in range(COLUMNS * ROWS)
        ],
    )
    rows = []
    for i in range(CUSTOMERS):
        code = rng.randrange(COLUMNS * ROWS)
        lon, lat = _cell(code)
        rows.append(
            (
                f"A{i:07d}",
                f"Customer {i}",
                f"+86138{i:08d}" if i % 50 else None,
                f"c{i}@example.org" if i % 3 else None,
                "zh-CN" if i % 4 else "en",
                f"{i} Water St",
                f"W{code:03d}",
                lat + rng.random() * CELL,
                lon + rng.random() * CELL,
            )
        )
    conn.executemany(
        "INSERT INTO customer (account_id, name, phone, email, language, address, water_area,"
        " latitude, longitude, channels, critical, phone_invalid, email_invalid, voice_invalid,"
        " landline, row_hash, created_at, updated_at) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, 0, 0, 0, 0, '', '2026-01-01', '2026-01-01')",
        rows,
    )
    # 1% opted out of SMS.
    conn.executemany(
        "INSERT INTO opt_out (channel, address, source, created_at) VALUES ('sms', ?, 'sms', ?)",
        [(f"+86138{i:08d}", _iso(T0 - timedelta(days=30))) for i in range(1, CUSTOMERS, 100)],
    )
    conn.commit()
    conn.close()


def _plan(database: Database) -> int:
    """The big outage (two notices) and the year's 100 small ones (one notice each)."""
    with database.session() as session:
        big = Outage(
            utility="water",
            title="big",
            start_at=T0,
            end_at=T0 + timedelta(hours=8),
            area_codes=[f"W{c:03d}" for c in range(0, 200, 5)],
        )
        session.add(big)
        session.flush()
        assert big.id is not None
        for lead in (72, 24):
            due = T0 - timedelta(hours=lead)
            session.add(
                Notice(
                    outage_id=big.id,
                    revision=1,
                    kind="advance",
                    due_at=due,
                    sms_due_at=due,
                    deadline=T0,
                )
            )
        for n in range(YEAR_OUTAGES):
            start = datetime(2026, 1, 3, tzinfo=UTC) + timedelta(days=3 * n)
            codes = [f"W{(7 * n) % 200:03d}", f"W{(7 * n + 1) % 200:03d}"]
            small = Outage(
                utility="water",
                title=f"o{n}",
                start_at=start,
                area_codes=codes,
                end_at=start + timedelta(hours=4),
                status="restored",
                restored_at=start + timedelta(hours=5),
            )
            session.add(small)
            session.flush()
            assert small.id is not None
            due = start - timedelta(hours=48)
            session.add(
                Notice(
                    outage_id=small.id,
                    revision=1,
                    kind="advance",
                    due_at=due,
                    sms_due_at=due,
                    deadline=start,
                )
            )
        big_id = big.id
    with database.read() as session:
        dues = sorted(set(session.execute(select(col(Notice.due_at))).scalars()))
    for due in dues:  # each notice expanded at its due time, as the daemon would
        expand_due(database, due)
    return big_id


def _settle(path: Path) -> None:
    """A realistic mix: mostly sent or delivered, some failed, a few late and duplicates."""
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE delivery SET state = CASE WHEN id % 20 = 0 THEN 'failed' WHEN id % 7 = 0 THEN"
        " 'delivered' ELSE 'sent' END, sent_at = CASE WHEN id % 20 = 0 THEN NULL ELSE"
        " next_attempt_at END, error_code = CASE WHEN id % 20 = 0 THEN '30007' END, error ="
        " CASE WHEN id % 20 = 0 THEN 'carrier filtered' END, late = (id % 31 = 0),"
        " duplicate = (id % 997 = 0) WHERE state = 'pending'"
    )
    conn.commit()
    conn.close()


def _best(run: object, times: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        result = run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        build(path)
        database = Database(f"sqlite:///{path}")
        big_id = _plan(database)
        _settle(path)
        with database.read() as session:
            deliveries = session.execute(select(func.count()).select_from(Delivery)).scalar()
        print(
            f"built {CUSTOMERS:,} customers, {YEAR_OUTAGES + 1} outages, {deliveries:,} "
            f"deliveries in {time.perf_counter() - started:.1f} s"
        )

        with database.read() as session:
            big = session.get(Outage, big_id)
        assert big is not None

        def bare_outage() -> int:
            with database.read() as session:
                affected = len(match_customers(session, big))
                session.execute(
                    select(col(Delivery.channel), col(Delivery.state), func.count())
                    .join(Notice, col(Notice.id) == col(Delivery.notice_id))
                    .where(col(Notice.outage_id) == big_id)
                    .group_by(col(Delivery.channel), col(Delivery.state))
                ).all()
            return affected

        def report() -> object:
            with database.read() as session:
                return outage_report(session, big_id, now=T0 - timedelta(hours=1))

        base_time, affected = _best(bare_outage)
        print(f"baseline match_customers + GROUP BY: {base_time:.3f} s ({affected:,} affected)")
        report_time, result = _best(report)
        cov = result.coverage  # type: ignore[attr-defined]
        print(
            f"outage_report(): {report_time:.3f} s best of 3, {cov.reached:,} of "
            f"{cov.affected_premises:,} reached, {len(cov.door_hangers):,} door hangers, "
            f"{report_time / base_time:.1f}x the baseline"
        )

        settings = Settings()

        def bare_year() -> int:
            with database.read() as session:
                outages = session.exec(select(Outage)).scalars().all()  # type: ignore[call-overload]
                return sum(len(match_customers(session, o)) for o in outages)

        def year() -> object:
            with database.read() as session:
                return annual_report(session, 2026, settings=settings, now=T0)

        base_time, premises = _best(bare_year)
        print(
            f"baseline match_customers x {YEAR_OUTAGES + 1}: {base_time:.3f} s "
            f"({premises:,} premises)"
        )
        year_time, annual = _best(year)
        print(
            f"annual_report(2026): {year_time:.3f} s best of 3, "
            f"{annual.outage_count} outages, "  # type: ignore[attr-defined]
            f"{year_time / base_time:.1f}x the baseline"
        )
        database.dispose()


if __name__ == "__main__":
    main()
