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
import io
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from outage_notify import audit
from outage_notify.customer_rows import (
    ANNOTATION_COLUMNS,
    COLUMNS,
    CustomerRow,
    RowRules,
    check_row,
)
from outage_notify.db import Database, utcnow
from outage_notify.errors import InputError
from outage_notify.models import Customer, ServiceArea
from outage_notify.settings import Settings

BATCH_ROWS = 2000
MAX_PROBLEMS_SHOWN = 10_000
# (phase, done, total): "check" counts bytes of the file read, "write" counts staged rows.
Progress = Callable[[str, int, int], None]

CUSTOMERS: Table = Customer.metadata.tables["customer"]
_WRITTEN = (*COLUMNS, "row_hash")


@dataclass
class CustomerImport:
    file: Path
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_file: Path | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
        }


def rejects_path(path: Path) -> Path:
    """``customers.csv`` -> ``customers.rejected.csv``, next to the input."""
    return path.with_name(f"{path.stem}.rejected.csv")


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
    rules = _rules(database, settings)
    result = CustomerImport(file=path)
    report = progress or (lambda _phase, _done, _total: None)
    with tempfile.TemporaryDirectory(prefix="outage-notify-import-") as scratch:
        staging = _Staging(Path(scratch) / "staging.db")
        rejects = (
            _Rejects(rejects_path(path), Path(scratch) / "rejects.csv") if skip_invalid else None
        )
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


@contextmanager
def _records(path: Path) -> Iterator[tuple[BinaryIO, Any]]:
    try:
        binary = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None
    with binary:
        # utf-8-sig drops a byte-order mark; newline="" lets csv see CRLF and quoted newlines.
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        yield binary, csv.reader(text, strict=True)


def _header(first: list[str] | None, path: Path) -> list[str]:
    if not first:
        raise InputError(f"{path} is empty: the first row must be the header ({','.join(COLUMNS)})")
    header = [column.strip().lower() for column in first]
    known = set(COLUMNS) | set(ANNOTATION_COLUMNS)
    unknown = [c for c in header if c not in known]
    if unknown:
        raise InputError(
            f"{path}: unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            f"the columns are {','.join(COLUMNS)}"
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {', '.join(repeated)} appear more than once")
    if "account_id" not in header:
        raise InputError(f"{path}: the header has no account_id column")
    if "phone" not in header and "email" not in header:
        raise InputError(f"{path}: the header needs a phone or an email column")
    return header


def _check(
    path: Path,
    rules: RowRules,
    staging: _Staging,
    rejects: _Rejects | None,
    result: CustomerImport,
    report: Progress,
) -> list[str]:
    problems: list[str] = []
    total = path.stat().st_size if path.exists() else 0
    line = 1
    with _records(path) as (binary, reader):
        try:
            header = _header(next(reader, None), path)
            if rejects is not None:
                rejects.start(header)
            ended = reader.line_num
            for record in reader:
                line, ended = ended + 1, reader.line_num
                if not any(field.strip() for field in record):
                    continue  # blank lines and rows of empty cells, as spreadsheets leave
                result.rows += 1
                reasons = _row_problems(record, header, rules, staging, line)
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
                f"{path} is not UTF-8 (near line {line + 1}): save it as UTF-8 CSV"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    report("check", total, total)
    if result.rejected > len(problems) and rejects is None:
        problems.append(f"... and {result.rejected - len(problems)} more invalid rows")
    return problems


def _row_problems(
    record: list[str], header: list[str], rules: RowRules, staging: _Staging, line: int
) -> list[str]:
    if len(record) != len(header):
        return [f"has {len(record)} fields where the header has {len(header)}"]
    outcome = check_row(dict(zip(header, record, strict=True)), rules)
    if isinstance(outcome, list):
        return outcome
    first = staging.add(line, outcome)
    return [] if first is None else [f"account_id {outcome.account_id} repeats line {first}"]


def _describe(line: int, record: list[str], header: list[str], reasons: list[str]) -> str:
    account = record[header.index("account_id")].strip() if len(record) == len(header) else ""
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
            yield [CustomerRow._make((*r[:11], bool(r[11]), r[12])) for r in rows]

    def close(self) -> None:
        self.db.close()


class _Rejects:
    """The rejected rows, as they were, with line and reason first; published on success."""

    def __init__(self, target: Path, scratch: Path) -> None:
        self.target = target
        self.handle = scratch.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.keep: list[int] = []
        self.width = 0

    def start(self, header: list[str]) -> None:
        self.keep = [i for i, column in enumerate(header) if column not in ANNOTATION_COLUMNS]
        self.width = len(header)
        self.writer.writerow([*ANNOTATION_COLUMNS, *(header[i] for i in self.keep)])

    def add(self, line: int, record: Sequence[str], reasons: list[str]) -> None:
        kept = [record[i] for i in self.keep if i < len(record)]
        self.writer.writerow([line, "; ".join(reasons), *kept, *record[self.width :]])

    def publish(self) -> Path:
        self.handle.close()
        Path(self.handle.name).replace(self.target)
        return self.target

    def close(self) -> None:
        self.handle.close()


_UPDATE = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("b_id"))
    .values(
        {
            c: bindparam(f"b_{c}")
            for c in (*_WRITTEN[1:], "phone_invalid", "email_invalid", "updated_at")
        }
    )
)


def _apply(
    database: Database,
    staging: _Staging,
    result: CustomerImport,
    *,
    actor: str,
    now: datetime,
    report: Progress,
) -> None:
    with database.session() as session:
        connection = session.connection()
        done = 0
        for batch in staging.batches(BATCH_ROWS):
            _write_batch(connection, batch, result, now)
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


def _write_batch(
    connection: Connection, batch: list[CustomerRow], result: CustomerImport, now: datetime
) -> None:
    existing = {
        row.account_id: row
        for row in connection.execute(
            select(
                CUSTOMERS.c.account_id, CUSTOMERS.c.id, CUSTOMERS.c.row_hash,
                CUSTOMERS.c.phone, CUSTOMERS.c.email,
                CUSTOMERS.c.phone_invalid, CUSTOMERS.c.email_invalid,
            ).where(CUSTOMERS.c.account_id.in_([row.account_id for row in batch]))
        )
    }  # fmt: skip
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in batch:
        old = existing.get(row.account_id)
        if old is None:
            inserts.append(
                {**row._asdict(), "phone_invalid": False, "email_invalid": False,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
        elif old.row_hash == row.row_hash:
            result.unchanged += 1
        else:
            values = {f"b_{k}": v for k, v in row._asdict().items() if k != "account_id"}
            # A provider's "cannot receive" verdict was about the old contact.
            values["b_phone_invalid"] = bool(old.phone_invalid) and old.phone == row.phone
            values["b_email_invalid"] = bool(old.email_invalid) and old.email == row.email
            updates.append({**values, "b_id": old.id, "b_updated_at": now})
    if inserts:
        connection.execute(insert(CUSTOMERS), inserts)
    if updates:
        connection.execute(_UPDATE, updates)
    result.inserted += len(inserts)
    result.updated += len(updates)
