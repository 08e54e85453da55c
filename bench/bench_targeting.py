"""Targeting 1,000,000 customers against an outage over 20 of 200 area polygons.

The figure: seconds for ``targeting.target()`` on SQLite (SQL reads, the bounding-box filter,
the vectorised polygon test, channel preferences, opt-outs, de-duplication). The baseline: a
bare shapely ``contains_xy`` + numpy pass over the same points already in memory.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from outage_notify import migrations
from outage_notify.db import Database, utcnow
from outage_notify.models import Outage
from outage_notify.planning.matching import _inside_ids, match_customers
from outage_notify.planning.targeting import target

CUSTOMERS = 1_000_000
COLUMNS, ROWS = 20, 10  # 200 areas on a grid
CELL = 0.01
LON0, LAT0 = 121.0, 31.0


def _cell(code: int) -> tuple[float, float]:
    return LON0 + (code % COLUMNS) * CELL, LAT0 + (code // COLUMNS) * CELL


def _polygon(code: int) -> dict[str, object]:
    lon, lat = _cell(code)
    # A slightly irregular pentagon, so the test is not a mere bounding-box check.
    ring = [
        [lon, lat],
        [lon + CELL, lat],
        [lon + CELL, lat + CELL * 0.8],
        [lon + CELL * 0.5, lat + CELL],
        [lon, lat + CELL * 0.8],
        [lon, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def build(path: Path) -> tuple[np.ndarray, np.ndarray]:
    database = Database(f"sqlite:///{path}")
    migrations.upgrade(database)
    database.dispose()
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    areas = []
    for c in range(COLUMNS * ROWS):
        lon, lat = _cell(c)
        areas.append(
            (f"W{c:03d}", f"Zone {c}", json.dumps(_polygon(c)), lon, lat, lon + CELL, lat + CELL)
        )
    conn.executemany(
        "INSERT INTO service_area (code, name, utility, geometry, min_lon, min_lat, max_lon,"
        " max_lat, created_at, updated_at) VALUES (?, ?, 'water', ?, ?, ?, ?, ?, '2026-01-01',"
        " '2026-01-01')",
        areas,
    )
    lons = np.empty(CUSTOMERS)
    lats = np.empty(CUSTOMERS)
    rows = []
    for i in range(CUSTOMERS):
        code = rng.randrange(COLUMNS * ROWS)
        lon, lat = _cell(code)
        lons[i] = lon + rng.random() * CELL
        lats[i] = lat + rng.random() * CELL
        has_code = rng.random() < 0.5
        has_point = not has_code or rng.random() < 0.6
        rows.append(
            (
                f"A{i:07d}",
                f"+86138{i:08d}",
                f"c{i}@example.org" if i % 3 else None,
                "zh-CN" if i % 4 else "en",
                f"W{code:03d}" if has_code else None,
                float(lats[i]) if has_point else None,
                float(lons[i]) if has_point else None,
            )
        )
    conn.executemany(
        "INSERT INTO customer (account_id, name, phone, email, language, address, water_area,"
        " latitude, longitude, channels, critical, phone_invalid, email_invalid, voice_invalid,"
        " landline, row_hash, created_at, updated_at) VALUES"
        " (?, '', ?, ?, ?, '', ?, ?, ?, '', 0, 0, 0, 0, 0, '', '2026-01-01', '2026-01-01')",
        rows,
    )
    conn.commit()
    conn.close()
    return lons, lats


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        lons, lats = build(path)
        print(f"built {CUSTOMERS:,} customers in {time.perf_counter() - started:.1f} s")
        codes = [f"W{c:03d}" for c in range(0, COLUMNS * ROWS, 10)]  # 20 areas, spread out

        # Baseline: the bare vectorised polygon test over every point, in memory.
        started = time.perf_counter()
        union = shapely.union_all([shape(_polygon(int(c[1:]))) for c in codes])
        shapely.prepare(union)
        inside = shapely.contains_xy(union, lons, lats)
        baseline = time.perf_counter() - started
        print(f"baseline contains_xy+numpy: {baseline:.3f} s ({int(inside.sum()):,} points inside)")

        database = Database(f"sqlite:///{path}")
        outage = Outage(
            id=1,
            utility="water",
            title="bench",
            area_codes=codes,
            start_at=utcnow(),
            end_at=utcnow(),
        )
        match_times, target_times, inside_times = [], [], []
        for _ in range(3):
            with database.read() as session:
                started = time.perf_counter()
                _inside_ids(session, outage, [])
                inside_times.append(time.perf_counter() - started)
            with database.read() as session:
                started = time.perf_counter()
                matched = match_customers(session, outage)
                match_times.append(time.perf_counter() - started)
            with database.read() as session:
                started = time.perf_counter()
                result = target(session, outage)
                target_times.append(time.perf_counter() - started)
        match_best, target_best = min(match_times), min(target_times)
        inside_best = min(inside_times)
        print(
            f"polygon stage alone (ids and coordinates in the areas' boxes from SQL, one "
            f"intersects_xy): {inside_best:.3f} s, {inside_best / baseline:.1f}x the baseline"
        )
        print(
            f"match_customers() (SQL reads by code and bounding box + polygon test): "
            f"{match_best:.3f} s best of 3, {len(matched):,} affected, "
            f"{match_best / baseline:.1f}x the baseline"
        )
        print(
            f"target() (+ channel preferences, opt-outs, one message per contact): "
            f"{target_best:.3f} s best of 3, {len(result.recipients):,} recipients, "
            f"by match {result.by_match}, {target_best / baseline:.1f}x the baseline "
            "(aim: at most 2x)"
        )
        database.dispose()


if __name__ == "__main__":
    main()
