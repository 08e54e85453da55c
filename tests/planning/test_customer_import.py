from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.models import AuditEvent, Customer
from outage_notify.planning.customer_import import import_customers, rejects_path
from outage_notify.settings import Settings
from tests.builders import CUSTOMER_HEADER, customer_row, make_city, write_customers
from tests.planning.test_customer_rows import BAD_ROWS

GOOD = [
    customer_row(
        "A1",
        name="李伟",
        phone="138 0013 8000",
        water_area="W01",
        gas_area="G01",
        latitude="31.25",
        longitude="121.45",
        critical="true",
    ),
    customer_row(
        "A2", name="Ann", email="Ann@Example.org", language="en", water_area="W02", channels="email"
    ),
    customer_row("A3", name="王芳", phone="13900139000", email="wf@example.org"),
]


@pytest.fixture
def city(db: Database) -> Database:
    make_city(db)
    return db


def customers_in(db: Database) -> dict[str, dict[str, Any]]:
    with db.read() as session:
        rows = session.exec(select(Customer)).all()
        return {c.account_id: c.model_dump() for c in rows}


def test_import_normalises_and_reports_the_summary(run_cli, city: Database, tmp_path: Path) -> None:
    path = write_customers(tmp_path / "customers.csv", GOOD)
    result = run_cli("customers", "import", str(path), "--actor", "alice")
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 inserted, 0 updated, 0 unchanged, 0 rejected" in result.output
    stored = customers_in(city)
    assert stored["A1"]["phone"] == "+8613800138000"
    assert stored["A1"]["critical"] is True
    assert stored["A1"]["language"] == "zh-CN"
    assert stored["A2"]["email"] == "ann@example.org"
    assert stored["A2"]["channels"] == "email"
    assert stored["A3"]["water_area"] is None
    with city.read() as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "customers.import")
        ).one()
        assert event.actor == "alice"
        assert event.after is not None
        assert event.after["inserted"] == 3


def test_a_landline_is_marked_at_import_and_again_when_the_phone_changes(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [customer_row("L1", phone="020 8877 6655"), customer_row("M1", phone="13800138000")]
    import_customers(
        city, write_customers(tmp_path / "a.csv", rows), settings=settings, actor="test"
    )
    stored = customers_in(city)
    assert (stored["L1"]["landline"], stored["M1"]["landline"]) == (True, False)
    assert stored["L1"]["voice_invalid"] is False
    with city.session() as session:  # as stored before the landline column existed
        stored_before = session.exec(select(Customer).where(Customer.account_id == "L1")).one()
        stored_before.landline = False
        session.add(stored_before)
    again = import_customers(
        city, write_customers(tmp_path / "a.csv", rows), settings=settings, actor="test"
    )
    assert (again.updated, customers_in(city)["L1"]["landline"]) == (1, True)
    rows = [customer_row("L1", phone="13900139000")]
    import_customers(
        city, write_customers(tmp_path / "b.csv", rows), settings=settings, actor="test"
    )
    assert customers_in(city)["L1"]["landline"] is False


# Accepted drift of billing exports: channels naming a contact the customer lacks. The row is
# imported with its preference as given, and counted (planning/reach.py decides the channels).
DRIFTS = [
    ("wants sms;email, has no email", {"phone": "13700137000", "channels": "sms;email"}, 1, 0),
    ("wants email, has only a phone", {"phone": "13700137000", "channels": "email"}, 0, 1),
    ("wants sms, has only an email", {"email": "b1@example.org", "channels": "sms"}, 0, 1),
    ("wants email;sms, has no phone", {"email": "b1@example.org", "channels": "email;sms"}, 1, 0),
    ("wants what it has", {"phone": "13700137000", "channels": "sms"}, 0, 0),
]


@pytest.mark.parametrize(
    ("case", "values", "without_contact", "fallback"), DRIFTS, ids=[c[0] for c in DRIFTS]
)
def test_a_channel_without_its_contact_is_imported_and_counted(
    run_cli,
    city: Database,
    tmp_path: Path,
    case: str,
    values: dict[str, str],
    without_contact: int,
    fallback: int,
) -> None:
    path = write_customers(tmp_path / "customers.csv", [*GOOD, customer_row("B1", **values)])
    result = run_cli("customers", "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["inserted"], summary["rejected"]) == (4, 0)
    assert (summary["channel_without_contact"], summary["channel_fallback"]) == (
        without_contact,
        fallback,
    )
    stored = customers_in(city)["B1"]
    assert stored["channels"] == ";".join(
        c for c in ("sms", "email") if c in values["channels"].split(";")
    )
    text = run_cli("customers", "import", str(path)).output
    if without_contact:
        assert "1 ask for a channel they have no contact for" in text
    if fallback:
        assert "1 have no contact for any channel they chose" in text


@pytest.mark.parametrize(("case", "values", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_one_bad_row_rejects_the_file_and_writes_nothing(
    run_cli, city: Database, tmp_path: Path, case: str, values: dict[str, str], reason: str
) -> None:
    bad = customer_row("B1", phone="13700137000")
    bad.update(values)
    path = write_customers(tmp_path / "customers.csv", [*GOOD, bad])
    result = run_cli("customers", "import", str(path))
    assert result.exit_code == 1
    assert "line 5" in result.output
    assert reason in result.output
    assert "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert customers_in(city) == {}
    assert not rejects_path(path).exists()


def test_every_bad_line_is_listed(run_cli, city: Database, tmp_path: Path) -> None:
    rows = [
        *GOOD,
        customer_row("B1", phone="1"),
        GOOD[0],
        customer_row("B3", phone="13700137000", language="xx"),
    ]
    path = write_customers(tmp_path / "customers.csv", rows)
    result = run_cli("customers", "import", str(path))
    assert result.exit_code == 1
    assert "3 rows are invalid" in result.output
    assert "line 5 (account B1): phone is not" in result.output
    assert "line 6 (account A1): account_id A1 repeats line 2" in result.output
    assert "line 7 (account B3): language 'xx'" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: the first row must be the header"),
        (b"account_id,phone,fax\nA1,13800138000,1\n", "unknown column(s) 'fax'"),
        (b"account_id,phone,phone\n", "column(s) phone appear more than once"),
        (b"name,phone\nLi,13800138000\n", "the header has no account_id column"),
        (b"account_id,name\nA1,Li\n", "the header needs a phone or an email column"),
        (b"account_id,phone\nA1,\xff\xfe\n", "is not UTF-8 (near line 2)"),
        (b'account_id,phone\nA1,"138\n', "unexpected end of data"),
    ],
    ids=[
        "empty",
        "unknown column",
        "repeated column",
        "no account_id",
        "no contact column",
        "not utf-8",
        "unterminated quote",
    ],
)
def test_unreadable_file_is_rejected_whole(
    run_cli, city: Database, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    for flags in ((), ("--skip-invalid",)):
        result = run_cli("customers", "import", str(path), *flags)
        assert result.exit_code == 1, result.output
        assert message in result.output
    assert customers_in(city) == {}
    assert not rejects_path(path).exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch left


def test_missing_file(run_cli, city: Database, tmp_path: Path) -> None:
    result = run_cli("customers", "import", str(tmp_path / "none.csv"))
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_bom_crlf_and_quoted_newlines(city: Database, settings: Settings, tmp_path: Path) -> None:
    rows = [customer_row("A1", phone="13800138000", address='1 Renmin Rd\r\nFlat 2, "East"')]
    path = write_customers(tmp_path / "c.csv", [*rows, GOOD[1]], newline="\r\n", bom=True)
    result = import_customers(city, path, settings=settings, actor="t")
    assert (result.rows, result.inserted) == (2, 2)
    assert customers_in(city)["A1"]["address"] == '1 Renmin Rd\r\nFlat 2, "East"'


def test_line_numbers_count_physical_lines(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        customer_row("A1", phone="13800138000", address="two\nlines"),
        customer_row("B", phone="1"),
    ]
    path = write_customers(tmp_path / "c.csv", rows)
    with pytest.raises(InputError) as caught:
        import_customers(city, path, settings=settings, actor="t")
    assert caught.value.problems[0].startswith("line 4 (account B)")


def test_blank_rows_are_ignored(city: Database, settings: Settings, tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", [GOOD[0], [""] * 12, [], GOOD[1]])
    result = import_customers(city, path, settings=settings, actor="t")
    assert (result.rows, result.inserted, result.rejected) == (2, 2, 0)


def test_columns_may_be_missing_or_reordered(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("email,Account_ID\nx@example.org,A9\n", encoding="utf-8")
    import_customers(city, path, settings=settings, actor="t")
    assert customers_in(city)["A9"]["email"] == "x@example.org"


def test_skip_invalid_imports_the_valid_rows_and_writes_the_rejects(
    run_cli, city: Database, tmp_path: Path
) -> None:
    rows = [
        *GOOD,
        customer_row("B1", phone="1"),
        customer_row("A2", email="dup@example.org"),
        ["B3", "too", "few"],
    ]
    path = write_customers(tmp_path / "customers.csv", rows)
    result = run_cli("customers", "import", str(path), "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inserted"] == 3
    assert summary["rejected"] == 3
    assert summary["rejects_file"] == str(tmp_path / "customers.rejected.csv")
    assert set(customers_in(city)) == {"A1", "A2", "A3"}
    with rejects_path(path).open(encoding="utf-8", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["line"] for r in rejects] == ["5", "6", "7"]
    assert rejects[0]["account_id"] == "B1"
    assert rejects[0]["phone"] == "1"
    assert rejects[0]["reason"].startswith("phone is not")
    assert rejects[1]["reason"] == "account_id A2 repeats line 3"
    assert rejects[2]["reason"] == "has 3 fields where the header has 12"


def test_a_corrected_rejects_file_imports_as_it_is(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_customers(tmp_path / "c.csv", [GOOD[0], customer_row("B1", phone="1")])
    import_customers(city, path, settings=settings, actor="t", skip_invalid=True)
    fixed = rejects_path(path).read_text(encoding="utf-8").replace(",B1,,1,", ",B1,,13700137000,")
    rejects_path(path).write_text(fixed, encoding="utf-8")
    result = import_customers(city, rejects_path(path), settings=settings, actor="t")
    assert (result.inserted, result.rejected) == (1, 0)


def test_reimport_upserts_by_account_and_skips_unchanged_rows(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_customers(tmp_path / "c.csv", GOOD)
    import_customers(city, path, settings=settings, actor="t")
    with city.session() as session:
        a1 = session.exec(select(Customer).where(Customer.account_id == "A1")).one()
        a1.phone_invalid = True
        a3 = session.exec(select(Customer).where(Customer.account_id == "A3")).one()
        a3.phone_invalid = a3.email_invalid = True
    before = customers_in(city)

    again = import_customers(city, path, settings=settings, actor="t")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert customers_in(city) == before

    changed = [
        {**GOOD[0], "phone": "+86 138 0013 8000"},  # written differently: unchanged
        {**GOOD[1], "name": "Ann Lee"},
        {**GOOD[2], "phone": "13600136000"},  # new phone: the old verdict no longer holds
        customer_row("A4", email="new@example.org"),
    ]
    third = import_customers(
        city, write_customers(tmp_path / "c2.csv", changed), settings=settings, actor="t"
    )
    assert (third.inserted, third.updated, third.unchanged) == (1, 2, 1)
    after = customers_in(city)
    assert after["A2"]["name"] == "Ann Lee"
    assert after["A2"]["created_at"] == before["A2"]["created_at"]
    assert after["A2"]["updated_at"] > before["A2"]["updated_at"]
    assert after["A1"]["phone_invalid"] is True
    assert after["A3"]["phone"] == "+8613600136000"
    assert after["A3"]["phone_invalid"] is False
    assert after["A3"]["email_invalid"] is True


def test_customers_absent_from_the_file_stay(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    import_customers(city, write_customers(tmp_path / "a.csv", GOOD), settings=settings, actor="t")
    import_customers(
        city, write_customers(tmp_path / "b.csv", GOOD[:1]), settings=settings, actor="t"
    )
    assert set(customers_in(city)) == {"A1", "A2", "A3"}


def test_progress_is_reported_per_phase(city: Database, settings: Settings, tmp_path: Path) -> None:
    rows = [customer_row(f"A{i}", phone=f"138{i:08d}") for i in range(12_000)]
    path = write_customers(tmp_path / "c.csv", rows)
    calls: list[tuple[str, int, int]] = []
    import_customers(
        city, path, settings=settings, actor="t", progress=lambda *call: calls.append(call)
    )
    checks = [c for c in calls if c[0] == "check"]
    writes = [c for c in calls if c[0] == "write"]
    size = path.stat().st_size
    assert checks[-1] == ("check", size, size)
    assert len(checks) >= 3
    assert all(0 < c[1] <= size for c in checks)
    assert writes[-1] == ("write", 12_000, 12_000)
    assert [c[1] for c in writes] == sorted(c[1] for c in writes)


def test_header_only_file_imports_nothing(
    city: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_customers(tmp_path / "c.csv", [], header=CUSTOMER_HEADER)
    result = import_customers(city, path, settings=settings, actor="t")
    assert (result.rows, result.inserted) == (0, 0)


def test_a_repeat_of_an_account_whose_first_copy_is_invalid_is_caught(
    run_cli, city: Database, tmp_path: Path
) -> None:
    rows = [
        *GOOD,
        customer_row("B1", phone="not a phone"),
        customer_row("B1", phone="13700137000"),
    ]
    path = write_customers(tmp_path / "customers.csv", rows)
    result = run_cli("customers", "import", str(path))
    assert result.exit_code == 1
    assert "line 5 (account B1): phone is" in result.output
    assert "line 6 (account B1): account_id B1 repeats line 5" in result.output
    skipped = run_cli("customers", "import", str(path), "--skip-invalid", "--json")
    assert json.loads(skipped.stdout)["rejected"] == 2
    assert "B1" not in customers_in(city)
