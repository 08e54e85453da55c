"""Importing a 1,000,000-row customers CSV into SQLite.

The figure: rows per second for ``import_customers()`` (both passes: CSV parsing, every check
of every row with phonenumbers and email-validator, staging, the upsert in batches in one
transaction), and the peak memory of the process. The baseline: raw ``sqlite3``
``executemany`` of the same rows, read from the same file with ``csv.reader`` and inserted
unchecked into the same table in one transaction. Aim: at least a third of the baseline.
The import's write pass raises SQLite's page cache (``WRITE_CACHE_KIB``); a second baseline
with the same cache is printed too, and a third that also reads, validates and formats every
phone number with ``phonenumbers`` (aim: the import at 0.8 of that or better).

``BENCH_ROWS=100000 python -m bench customer_import`` runs a smaller file.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import phonenumbers

from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.planning.customer_import import WRITE_CACHE_KIB, import_customers
from outage_notify.planning.customer_rows import COLUMNS
from outage_notify.settings import Settings

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
WATER_AREAS, GAS_AREAS = 200, 100


def _square(lon: float, lat: float) -> str:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def migrated(path: Path) -> None:
    database = Database(f"sqlite:///{path}")
    migrations.upgrade(database)
    database.dispose()
    conn = sqlite3.connect(path)
    areas = [(f"W{i:03d}", "water", 121 + i * 0.01, 31.0) for i in range(WATER_AREAS)]
    areas += [(f"G{i:03d}", "gas", 121 + i * 0.02, 31.1) for i in range(GAS_AREAS)]
    conn.executemany(
        "INSERT INTO service_area (code, name, utility, geometry, min_lon, min_lat, max_lon,"
        " max_lat, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01',"
        " '2026-01-01')",
        [
            (c, c, u, _square(lon, lat), lon, lat, lon + 0.01, lat + 0.01)
            for c, u, lon, lat in areas
        ],
    )
    conn.commit()
    conn.close()


def generate(path: Path) -> None:
    """A billing export as it comes: phones in several spellings, some without email or
    location, a few critical customers."""
    rng = random.Random(11)
    spellings = ("{}", "+86 {}", "{} ", "+86-{}")
    prefixes = ("130", "135", "138", "150", "158", "186", "189", "199")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(ROWS):
            phone = f"{rng.choice(prefixes)}{rng.randrange(10**8):08d}"
            located = rng.random() < 0.6
            writer.writerow(
                [
                    f"A{i:08d}",
                    f"Customer {i}",
                    rng.choice(spellings).format(phone),
                    f"c{i}@mail{i % 40}.example.com" if i % 3 else "",
                    "en" if i % 9 == 0 else "zh-CN",
                    f"{i % 500} Renmin Road, Flat {i % 97}",
                    f"{31 + rng.random() / 10:.6f}" if located else "",
                    f"{121 + rng.random() * 2:.6f}" if located else "",
                    f"W{rng.randrange(WATER_AREAS):03d}",
                    f"G{rng.randrange(GAS_AREAS):03d}",
                    "",
                    "true" if i % 100 == 0 else "false",
                    *[""] * (len(COLUMNS) - 12),  # later optional columns (service_node)
                ]
            )


def raw_rows(path: Path) -> Iterator[tuple[object, ...]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for r in reader:
            yield (*r[:6], r[6] or None, r[7] or None, *r[8:11], r[11] == "true", *r[12:])


def checked_rows(path: Path) -> Iterator[tuple[object, ...]]:
    """The raw rows with each phone read, validated and formatted by phonenumbers: the least
    an import that checks numbers does."""
    for row in raw_rows(path):
        phone = str(row[2]).strip()
        number = phonenumbers.parse(phone, "CN")
        if not phonenumbers.is_valid_number(number):
            raise ValueError(phone)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        yield (*row[:2], e164, *row[3:])


def baseline(
    path: Path, csv_path: Path, cache_kib: int | None = None, *, check_phones: bool = False
) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    if cache_kib:
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO customer ({', '.join(COLUMNS)}, phone_invalid, email_invalid,"
        " voice_invalid, landline, row_hash, created_at, updated_at) VALUES ("
        + ", ".join("?" for _ in COLUMNS)
        + ", 0, 0, 0, 0, '', '2026-01-01', '2026-01-01')",
        (checked_rows if check_phones else raw_rows)(csv_path),
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "customers.csv"
        started = time.perf_counter()
        generate(csv_path)
        size = csv_path.stat().st_size / 2**20
        print(f"generated {ROWS:,} rows ({size:.0f} MB) in {time.perf_counter() - started:.1f} s")

        db_path = Path(tmp) / "import.db"
        migrated(db_path)
        database = Database(f"sqlite:///{db_path}")
        before = peak_mb()
        phases: dict[str, float] = {}

        def mark(phase: str, _done: int, _total: int) -> None:
            phases.setdefault(phase, time.perf_counter())

        started = time.perf_counter()
        result = import_customers(
            database, csv_path, settings=Settings(), actor="bench", progress=mark
        )
        elapsed = time.perf_counter() - started
        checking = phases["write"] - started
        database.dispose()
        peak = peak_mb()
        assert result.inserted == ROWS, result.summary()
        rate = ROWS / elapsed
        print(
            f"import_customers(): {elapsed:.1f} s, {rate:,.0f} rows/s "
            f"({result.inserted:,} inserted, {result.rejected} rejected; checking {checking:.1f} s,"
            f" writing {elapsed - checking:.1f} s); "
            f"peak RSS {peak:.0f} MB (before the import {before:.0f} MB)"
        )

        raw_path = Path(tmp) / "raw.db"
        migrated(raw_path)
        raw = baseline(raw_path, csv_path)
        raw_rate = ROWS / raw
        print(f"baseline sqlite3 executemany of the same rows: {raw:.1f} s, {raw_rate:,.0f} rows/s")
        print(f"import / baseline: {rate / raw_rate:.2f} (aim: at least 0.33)")

        checked_path = Path(tmp) / "raw-checked.db"
        migrated(checked_path)
        checked = baseline(checked_path, csv_path, WRITE_CACHE_KIB, check_phones=True)
        checked_rate = ROWS / checked
        print(
            f"bare csv + phonenumbers + sqlite3 (same page cache): {checked:.1f} s, "
            f"{checked_rate:,.0f} rows/s; import / that: {rate / checked_rate:.2f} (aim: 0.8)"
        )

        # The import raises SQLite's page cache for its write pass; the same for the baseline,
        # so the figure above is not read as the cache alone.
        cached_path = Path(tmp) / "raw-cached.db"
        migrated(cached_path)
        cached = baseline(cached_path, csv_path, WRITE_CACHE_KIB)
        cached_rate = ROWS / cached
        print(
            f"baseline with the import's {WRITE_CACHE_KIB // 1024} MB page cache: {cached:.1f} s, "
            f"{cached_rate:,.0f} rows/s; import / that: {rate / cached_rate:.2f}"
        )


if __name__ == "__main__":
    main()
