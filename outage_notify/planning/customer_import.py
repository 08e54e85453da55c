"""Importing customers from CSV, streaming, in two passes.

Pass 1 reads the file once, checks every row and stages the valid ones in a throw-away
SQLite file (its UNIQUE index also finds an account_id that repeats, without holding a
million keys in memory). Nothing touches the real database until the whole file is known
to be good, or ``skip_invalid`` says to go on without the bad rows. Pass 2 upserts the staged
rows in batches inside one transaction, so a failure half-way leaves the customers as they
were; rows whose digest (``row_hash``) has not changed are not rewritten.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from outage_notify import audit
from outage_notify.db import Database, utcnow
from outage_notify.errors import InputError
from outage_notify.models import Customer, ServiceArea
from outage_notify.planning.customer_csv import Lines as _Lines
from outage_notify.planning.customer_csv import header as _header
from outage_notify.planning.customer_csv import records as _records
from outage_notify.planning.customer_rejects import Rejects, rejects_path
from outage_notify.planning.customer_rows import (
    COLUMNS,
    CustomerRow,
    RowRules,
    check_row,
)
from outage_notify.planning.reach import contacts_of, reach
from outage_notify.settings import Settings

BATCH_ROWS = 2000
WRITE_CACHE_KIB = 64 * 1024  # SQLite page cache during the write pass
MAX_PROBLEMS_SHOWN = 10_000
# (phase, done, total): "check" counts bytes of the file read, "write" counts staged rows.
Progress = Callable[[str, int, int], None]

CUSTOMERS: Table = Customer.metadata.tables["customer"]
_WRITTEN = (*COLUMNS, "row_hash", "landline")


@dataclass
class CustomerImport:
    file: Path
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_file: Path | None = None
    # Accepted drift: channels naming a contact the customer lacks (see planning/reach.py).
    missing_contact: int = 0  # reached on the rest of their chosen channels
    fallback: int = 0  # none of their chosen channels has a contact: reached on every other

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "channel_without_contact": self.missing_contact,
            "channel_fallback": self.fallback,
        }

    def count_reach(self, row: CustomerRow) -> None:
        found = reach(row.channels, contacts_of(row))
        if found.fallback:
            self.fallback += 1
        elif found.drifted:
            self.missing_contact += 1


def import_customers(
    database: Database,
    path: Path,
    *,
    settings: Settings,
    actor: str,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> CustomerImport:
    """Upsert the customers of a CSV file by account_id.

    Without ``skip_invalid`` one bad row rejects the file: InputError lists every bad line
    (up to ``MAX_PROBLEMS_SHOWN``) and nothing is written. With it, the valid rows are
    imported and the bad ones written, with a ``reason`` column, to ``NAME.rejected.csv``.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    rules = _rules(database, settings)
    result = CustomerImport(file=path)
    report = progress or (lambda _phase, _done, _total: None)
    with tempfile.TemporaryDirectory(prefix="outage-notify-import-") as scratch:
        staging = _Staging(Path(scratch) / "staging.db")
        rejects = Rejects(rejects_path(path)) if skip_invalid else None
        try:
            problems = _check(path, rules, staging, rejects, result, report)
            if problems and rejects is None:
                raise InputError(_rejection(path, result.rejected), problems=problems)
            _apply(database, staging, result, actor=actor, now=now or utcnow(), report=report)
            if rejects is not None:
                result.rejects_file = rejects.publish()
        finally:
            staging.close()
            if rejects is not None:
                rejects.close()
    return result


def _rejection(path: Path, bad: int) -> str:
    rows = "row is" if bad == 1 else "rows are"
    return (
        f"{path}: {bad} {rows} invalid, nothing was imported. Fix them, or import the valid "
        "rows with --skip-invalid (the bad ones then go to "
        f"{rejects_path(path).name} with the reason):"
    )


def _rules(database: Database, settings: Settings) -> RowRules:
    with database.read() as session:
        rows = session.connection().execute(select(ServiceArea.code, ServiceArea.utility)).all()  # type: ignore[call-overload]
    return RowRules(
        region=settings.default_region,
        default_language=settings.default_language,
        water_areas=frozenset(code for code, utility in rows if utility == "water"),
        gas_areas=frozenset(code for code, utility in rows if utility == "gas"),
    )


def _check(
    path: Path,
    rules: RowRules,
    staging: _Staging,
    rejects: Rejects | None,
    result: CustomerImport,
    report: Progress,
) -> list[str]:
    problems: list[str] = []
    total = path.stat().st_size if path.exists() else 0
    with _records(path) as (binary, reader):
        lines = _Lines(reader)
        try:
            header = _header(next(reader, None), path)
            if rejects is not None:
                rejects.start(header)
            # The first line of each rejected account_id (rejects are few): a later copy of an
            # account whose first copy was invalid is a repeat too, not a fresh customer.
            rejected_at: dict[str, int] = {}
            for line, record in lines:
                result.rows += 1
                outcome = _check_record(record, header, rules)
                account = _account(record, header)
                if account in rejected_at:
                    earlier = outcome if isinstance(outcome, list) else []
                    reasons = [
                        *earlier,
                        f"account_id {account} repeats line {rejected_at[account]}",
                    ]
                else:
                    reasons = _stage(line, outcome, staging)
                if reasons and account:
                    rejected_at.setdefault(account, line)
                if not reasons and isinstance(outcome, CustomerRow):
                    result.count_reach(outcome)
                if reasons:
                    result.rejected += 1
                    if rejects is not None:
                        rejects.add(line, record, reasons)
                    elif len(problems) < MAX_PROBLEMS_SHOWN:
                        problems.append(_describe(line, record, header, reasons))
                if result.rows % 5000 == 0:
                    report("check", binary.tell(), total)
        except UnicodeDecodeError:
            raise InputError(
                f"{path} is not UTF-8 (near line {lines.line + 1}): save it as UTF-8 CSV"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    report("check", total, total)
    if result.rejected > len(problems) and rejects is None:
        problems.append(f"... and {result.rejected - len(problems)} more invalid rows")
    return problems


def _check_record(record: list[str], header: list[str], rules: RowRules) -> CustomerRow | list[str]:
    if len(record) != len(header):
        return [f"has {len(record)} fields where the header has {len(header)}"]
    return check_row(dict(zip(header, record, strict=True)), rules)


def _stage(line: int, outcome: CustomerRow | list[str], staging: _Staging) -> list[str]:
    if isinstance(outcome, list):
        return outcome
    first = staging.add(line, outcome)
    return [] if first is None else [f"account_id {outcome.account_id} repeats line {first}"]


def _account(record: list[str], header: list[str]) -> str:
    return record[header.index("account_id")].strip() if len(record) == len(header) else ""


def _describe(line: int, record: list[str], header: list[str], reasons: list[str]) -> str:
    account = _account(record, header)
    where = f"line {line} (account {account})" if account else f"line {line}"
    return f"{where}: {'; '.join(reasons)}"


class _Staging:
    """The valid rows of pass 1, on disk, in file order."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        columns = ", ".join(
            f"{c} {'NOT NULL UNIQUE' if c == 'account_id' else ''}" for c in _WRITTEN
        )
        self.db.execute(f"CREATE TABLE staged (line INTEGER NOT NULL, {columns})")
        self.db.execute("BEGIN")
        self.count = 0
        self._insert = f"INSERT INTO staged VALUES (?, {', '.join('?' for _ in _WRITTEN)})"

    def add(self, line: int, row: CustomerRow) -> int | None:
        """Stage the row; the line where its account_id first appeared if it repeats."""
        try:
            self.db.execute(self._insert, (line, *row))
        except sqlite3.IntegrityError:
            found = self.db.execute(
                "SELECT line FROM staged WHERE account_id = ?", (row.account_id,)
            ).fetchone()
            return int(found[0])
        self.count += 1
        return None

    def batches(self, size: int) -> Iterator[list[CustomerRow]]:
        cursor = self.db.execute(f"SELECT {', '.join(_WRITTEN)} FROM staged ORDER BY rowid")
        while rows := cursor.fetchmany(size):
            yield [CustomerRow._make((*r[:11], bool(r[11]), *r[12:-1], bool(r[-1]))) for r in rows]

    def close(self) -> None:
        self.db.close()


class _Writer:
    """Upserts staged rows through the driver's own executemany: on a million rows,
    SQLAlchemy's per-row parameter processing costs more than the inserts themselves."""

    INSERTED = (
        *_WRITTEN,
        "phone_invalid",
        "email_invalid",
        "voice_invalid",
        "created_at",
        "updated_at",
    )
    UPDATED = (*_WRITTEN[1:], "phone_invalid", "email_invalid", "voice_invalid", "updated_at")

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.insert_sql = (
            f"INSERT INTO customer ({', '.join(self.INSERTED)}) "
            f"VALUES ({', '.join(mark for _ in self.INSERTED)})"
        )
        assignments = ", ".join(f"{column} = {mark}" for column in self.UPDATED)
        self.update_sql = f"UPDATE customer SET {assignments} WHERE id = {mark}"
        # The one timestamp of the import, in the form the column type stores.
        processor = CUSTOMERS.c.updated_at.type.bind_processor(connection.dialect)
        self.stamp = processor(now) if processor else now

    def write(self, batch: list[CustomerRow], result: CustomerImport) -> None:
        existing = {
            row.account_id: row
            for row in self.connection.execute(
                select(
                    CUSTOMERS.c.account_id,
                    CUSTOMERS.c.id,
                    CUSTOMERS.c.row_hash,
                    CUSTOMERS.c.phone,
                    CUSTOMERS.c.email,
                    CUSTOMERS.c.phone_invalid,
                    CUSTOMERS.c.email_invalid,
                    CUSTOMERS.c.voice_invalid,
                    CUSTOMERS.c.landline,
                ).where(CUSTOMERS.c.account_id.in_([row.account_id for row in batch]))
            )
        }
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for row in batch:
            old = existing.get(row.account_id)
            if old is None:
                inserts.append((*row, False, False, False, self.stamp, self.stamp))
            # landline is not in the digest: a row stored before it existed is rewritten.
            elif old.row_hash == row.row_hash and bool(old.landline) == row.landline:
                result.unchanged += 1
            else:
                # A provider's "cannot receive" verdict was about the old contact.
                phone_invalid = bool(old.phone_invalid) and old.phone == row.phone
                email_invalid = bool(old.email_invalid) and old.email == row.email
                voice_invalid = bool(old.voice_invalid) and old.phone == row.phone
                fresh = (phone_invalid, email_invalid, voice_invalid, self.stamp, old.id)
                updates.append((*row[1:], *fresh))
        if inserts:
            self.connection.exec_driver_sql(self.insert_sql, inserts)
        if updates:
            self.connection.exec_driver_sql(self.update_sql, updates)
        result.inserted += len(inserts)
        result.updated += len(updates)


@contextmanager
def _page_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a larger page cache while the rows go in: inserting a million rows into
    five indexes otherwise spends most of its time re-reading index pages (SQLite's default
    cache is 2 MB). The connection's own setting is put back afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def _apply(
    database: Database,
    staging: _Staging,
    result: CustomerImport,
    *,
    actor: str,
    now: datetime,
    report: Progress,
) -> None:
    with database.session() as session, _page_cache(session.connection()):
        writer = _Writer(session.connection(), now)
        done = 0
        for batch in staging.batches(BATCH_ROWS):
            writer.write(batch, result)
            done += len(batch)
            report("write", done, staging.count)
        report("write", staging.count, staging.count)
        audit.record(
            session,
            actor=actor,
            action="customers.import",
            entity="customer",
            entity_id=result.file.name[-64:],
            after=result.summary(),
        )
