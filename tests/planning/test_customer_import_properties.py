"""Property tests of the customers importer: it never crashes, and under --skip-invalid it
imports exactly the valid rows (the first of each account_id) and rejects exactly the rest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.models import AuditEvent, Customer
from outage_notify.planning.customer_import import import_customers, rejects_path
from outage_notify.settings import Settings
from tests.builders import CUSTOMER_HEADER, make_city, write_customers

SETTINGS = Settings()
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Each field: values that pass (with what they become) and values that do not.
PHONES = {"13800138000": "+8613800138000", "+86 139 0013 9000": "+8613900139000", "": None}
EMAILS = {"li@example.org": "li@example.org", "Ann@Example.ORG": "ann@example.org", "": None}
FIELDS: dict[str, tuple[list[str], list[str]]] = {
    "account_id": (["A1", "A2", "A3", "B 4", "账户5"], ["", "X" * 65]),
    "name": (["", "李伟", 'Ann "Jr", Esq.'], ["n" * 201, "bad\x00"]),
    "phone": (list(PHONES), ["123", "phone"]),
    "email": (list(EMAILS), ["nope", "a@b"]),
    "language": (["", "en", "zh-CN", "EN"], ["fr"]),
    "address": (["", "1 Road\nFlat 2", "a,b;c"], ["a" * 501]),
    "water_area": (["", "W01", "W02"], ["G01", "W99"]),
    "gas_area": (["", "G01"], ["W01"]),
    "channels": ([""], ["fax"]),
    "critical": (["", "true", "false", "1"], ["maybe"]),
}
LOCATIONS = ([("", ""), ("31.25", "121.45")], [("31.25", ""), ("121.4", "31.2"), ("x", "1")])


@st.composite
def labelled_rows(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    """A row and whether it is valid."""
    row: dict[str, str] = {}
    valid = True
    for column, (good, bad) in FIELDS.items():
        use_bad = draw(st.booleans()) if draw(st.integers(0, 9)) == 0 else False
        row[column] = draw(st.sampled_from(bad if use_bad else good))
        valid = valid and not use_bad
    use_bad = draw(st.integers(0, 9)) == 0
    row["latitude"], row["longitude"] = draw(st.sampled_from(LOCATIONS[1 if use_bad else 0]))
    valid = valid and not use_bad
    if not row["phone"] and not row["email"]:
        valid = False
    return row, valid


@pytest.fixture
def city(sqlite_db: Database) -> Database:
    make_city(sqlite_db)
    return sqlite_db


def _empty(database: Database) -> None:
    with database.session() as session:
        session.exec(delete(Customer))  # type: ignore[call-overload]
        session.exec(delete(AuditEvent))  # type: ignore[call-overload]


@PROPERTY
@given(rows=st.lists(labelled_rows(), max_size=12))
def test_skip_invalid_imports_exactly_the_valid_rows(
    city: Database, tmp_path: Path, rows: list[tuple[dict[str, str], bool]]
) -> None:
    _empty(city)
    path = write_customers(tmp_path / "c.csv", [r for r, _ in rows])
    expected: dict[str, dict[str, str]] = {}
    expected_rejects: list[int] = []
    line = 2  # where each record starts: an address with a line break spans two lines
    seen: set[str] = set()  # accounts met so far, valid or not: a later copy is a repeat
    for row, valid in rows:
        account = row["account_id"].strip()
        if valid and account not in seen:
            expected[row["account_id"]] = row
        else:
            expected_rejects.append(line)
        if account:
            seen.add(account)
        line += 1 + sum(value.count("\n") for value in row.values())

    result = import_customers(city, path, settings=SETTINGS, actor="t", skip_invalid=True)

    assert result.inserted == len(expected)
    assert result.rejected == len(expected_rejects)
    with city.read() as session:
        stored = {c.account_id: c for c in session.exec(select(Customer)).all()}
        assert set(stored) == set(expected)
        for account_id, row in expected.items():
            customer = stored[account_id]
            assert customer.phone == PHONES[row["phone"]]
            assert customer.email == EMAILS[row["email"]]
            assert customer.name == row["name"].strip()
            assert customer.address == row["address"]
            assert customer.water_area == (row["water_area"] or None)
            assert customer.language == {"": "zh-CN", "EN": "en"}.get(
                row["language"], row["language"]
            )
    with rejects_path(path).open(encoding="utf-8", newline="") as handle:
        assert [int(r["line"]) for r in csv.DictReader(handle)] == expected_rejects


# Any text a spreadsheet might hold, separators and line breaks included.
CELL = st.text(st.characters(exclude_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["13800138000", "W01", "G01", "li@example.org", "true", "31.2", "121.4", ",", '"', "\r\n"]
)


@PROPERTY
@given(
    records=st.lists(st.lists(CELL, min_size=0, max_size=14), max_size=10),
    skip_invalid=st.booleans(),
)
def test_arbitrary_rows_never_crash_the_import(
    city: Database, tmp_path: Path, records: list[list[str]], skip_invalid: bool
) -> None:
    _empty(city)
    path = write_customers(tmp_path / "c.csv", records, header=CUSTOMER_HEADER)
    # Only a row-level rejection may stop it, and only without --skip-invalid.
    rejected: list[InputError] = []
    try:
        result = import_customers(
            city, path, settings=SETTINGS, actor="t", skip_invalid=skip_invalid
        )
    except InputError as exc:
        rejected.append(exc)
    if rejected:
        assert not skip_invalid
        assert rejected[0].problems
        with city.read() as session:
            assert session.exec(select(Customer)).all() == []
        return
    assert result.rows == result.inserted + result.rejected
    with city.read() as session:
        assert len(session.exec(select(Customer)).all()) == result.inserted
