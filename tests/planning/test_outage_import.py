from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import Notice, Outage, OutageRevision
from outage_notify.times import parse_time
from tests.builders import make_city

HEADER = "ref,utility,title,description,start,end,areas"
NOW = "2026-12-01T09:00"
ROWS = [
    "WO-1,water,Main replacement,DN300 main,2026-12-10T10:00,2026-12-10T14:00,W01;W02",
    "WO-2,gas,Valve check,,2026-12-12 09:00,2026-12-12 11:00,G01",
]


@pytest.fixture
def city(db: Database) -> Database:
    make_city(db)
    return db


def write(tmp_path: Path, *rows: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def at(local: str) -> datetime:
    return parse_time(local, ZoneInfo("Asia/Shanghai"))


def imported(run_cli, path: Path, *flags: str, now: str = NOW) -> dict:  # type: ignore[no-untyped-def, type-arg]
    if "--dry-run" in flags:
        result = run_cli("outages", "import", str(path), "--json", "--now", now, *flags)
    else:
        result = run_cli("outages", "import", str(path), "--json", *flags, now=at(now))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def outage_rows(db: Database) -> list[tuple[str | None, int, str]]:
    with db.read() as session:
        rows = session.exec(select(Outage).order_by(col(Outage.id))).all()
        return [(o.ref, o.revision, o.status) for o in rows]


def test_import_plans_new_outages_and_is_idempotent(
    run_cli, city: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, *ROWS)
    first = imported(run_cli, path)
    assert first["counts"]["create"] == 2
    assert [r["outage_id"] for r in first["rows"]] == [1, 2]
    assert outage_rows(city) == [("WO-1", 1, "planned"), ("WO-2", 1, "planned")]
    with city.read() as session:
        outage = session.exec(select(Outage).where(Outage.ref == "WO-1")).one()
        assert outage.area_codes == ["W01", "W02"]
        assert outage.description == "DN300 main"
        notices = len(session.exec(select(Notice)).all())

    # The same file again, even a day later: nothing changes.
    again = imported(run_cli, path, now="2026-12-02T09:00")
    assert again["counts"] == {"create": 0, "reschedule": 0, "extend": 0, "edit": 0, "unchanged": 2}
    assert outage_rows(city) == [("WO-1", 1, "planned"), ("WO-2", 1, "planned")]
    with city.read() as session:
        assert len(session.exec(select(Notice)).all()) == notices


@pytest.mark.parametrize(
    ("row", "action", "change"),
    [
        (
            "WO-1,water,Main replacement,DN300 main,2026-12-10T10:00,2026-12-10T18:00,W01;W02",
            "extend",
            "extended",
        ),
        (
            "WO-1,water,Main replacement,DN300 main,2026-12-11T10:00,2026-12-11T14:00,W01;W02",
            "reschedule",
            "rescheduled",
        ),
        (
            "WO-1,water,Main replacement,DN300 main,2026-12-10T10:00,2026-12-10T12:00,W01;W02",
            "reschedule",
            "rescheduled",
        ),
        (
            "WO-1,water,Main renewal,DN300 main,2026-12-10T10:00,2026-12-10T14:00,W01;W02",
            "edit",
            "edited",
        ),
    ],
)
def test_a_changed_row_becomes_the_lifecycle_step_that_fits(
    run_cli, city: Database, tmp_path: Path, row: str, action: str, change: str
) -> None:
    imported(run_cli, write(tmp_path, ROWS[0]))
    result = imported(run_cli, write(tmp_path, row, name="changed.csv"), now="2026-12-02T09:00")
    assert [r["action"] for r in result["rows"]] == [action]
    with city.read() as session:
        revision = session.exec(select(OutageRevision).where(OutageRevision.revision == 2)).one()
        assert revision.change == change


def test_a_moved_and_renamed_row_is_two_revisions(run_cli, city: Database, tmp_path: Path) -> None:
    imported(run_cli, write(tmp_path, ROWS[0]))
    row = "WO-1,water,Main renewal,DN300 main,2026-12-11T10:00,2026-12-11T14:00,W01;W02"
    imported(run_cli, write(tmp_path, row, name="b.csv"), now="2026-12-02T09:00")
    with city.read() as session:
        changes = session.exec(
            select(OutageRevision.change).order_by(col(OutageRevision.revision))
        ).all()
        assert changes == ["created", "edited", "rescheduled"]
        assert session.exec(select(Outage.title)).one() == "Main renewal"


BAD_ROWS = [
    ("no ref", ",water,T,,2026-12-10T10:00,2026-12-10T14:00,W01", "line 3: ref is empty"),
    (
        "bad utility",
        "WO-9,power,T,,2026-12-10T10:00,2026-12-10T14:00,W01",
        "unknown utility 'power'",
    ),
    (
        "bad time",
        "WO-9,water,T,,10 Dec 10am,2026-12-10T14:00,W01",
        "start '10 Dec 10am' is not an ISO 8601 time",
    ),
    ("date only", "WO-9,water,T,,2026-12-10,2026-12-10T14:00,W01", "has no time of day"),
    ("end first", "WO-9,water,T,,2026-12-10T14:00,2026-12-10T10:00,W01", "is not before end"),
    ("past", "WO-9,water,T,,2026-11-10T10:00,2026-11-10T14:00,W01", "is in the past"),
    (
        "min notice",
        "WO-9,water,T,,2026-12-01T20:00,2026-12-01T22:00,W01",
        "less than schedule.min_notice",
    ),
    (
        "unknown area",
        "WO-9,water,T,,2026-12-10T10:00,2026-12-10T14:00,W01;W77",
        "area W77 does not exist",
    ),
    (
        "area of the other utility",
        "WO-9,gas,T,,2026-12-10T10:00,2026-12-10T14:00,W01",
        "area W01 is a water area, not gas",
    ),
    (
        "title too long",
        f"WO-9,water,{'t' * 121},,2026-12-10T10:00,2026-12-10T14:00,W01",
        "title is 121 characters",
    ),
    (
        "NUL in the title",
        "WO-9,water,Main\x00 works,,2026-12-10T10:00,2026-12-10T14:00,W01",
        "line 3: title contains a control character",
    ),
    (
        "NUL in the ref",
        "WO-\x009,water,T,,2026-12-10T10:00,2026-12-10T14:00,W01",
        "line 3: ref contains a control character",
    ),
    (
        "open end",
        "WO-9,water,T,,2026-12-10T10:00,9999-12-31T00:00,W01",
        "line 3 (ref WO-9): end 9999-12-30 16:00 UTC is more than 5 years ahead",
    ),
    (
        "open end past the calendar",
        "WO-9,water,T,,2026-12-10T10:00,9999-12-31T23:59-05:00,W01",
        "line 3: end '9999-12-31T23:59-05:00' is off the calendar",
    ),
    ("year 1", "WO-9,water,T,,0001-01-01T00:00,2026-12-10T14:00,W01", "is off the calendar"),
    ("before 1970", "WO-9,water,T,,1900-01-01T00:00,2026-12-10T14:00,W01", "is before 1970"),
    (
        "a month for a day",
        "WO-9,water,T,,2026-12-10T10:00,2027-01-10T14:00,W01",
        "longer than schedule.plausible_length (72h)",
    ),
    ("repeated ref", ROWS[0], "line 3: ref WO-1 repeats line 2"),
    ("short row", "WO-9,water,T", "line 3: has 3 fields where the header has 7"),
    ("areas changed", None, "utility or areas differ from outage #1"),
]


@pytest.mark.parametrize(("case", "row", "problem"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_one_bad_row_rejects_the_file(
    run_cli, city: Database, tmp_path: Path, case: str, row: str | None, problem: str
) -> None:
    if row is None:  # an outage exists and the file changes its areas
        imported(run_cli, write(tmp_path, ROWS[0], name="first.csv"))
        row = ROWS[0].replace("W01;W02", "W01")
        before = outage_rows(city)
        rows = [row]
    else:
        before = []
        rows = [ROWS[0], row]
    result = run_cli("outages", "import", str(write(tmp_path, *rows)), now=at(NOW))
    assert result.exit_code == 1
    assert problem in result.output
    assert "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert outage_rows(city) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty: the first row must be the header"),
        ("ref,utility,title\n", "missing column(s) start, end, areas"),
        (HEADER + ",crew\n", "unknown column(s) crew"),
    ],
)
def test_bad_header_rejects_the_file(
    run_cli, city: Database, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(content, encoding="utf-8")
    result = run_cli("outages", "import", str(path))
    assert result.exit_code == 1
    assert message in result.output


def test_dry_run_reports_and_writes_nothing(run_cli, city: Database, tmp_path: Path) -> None:
    result = imported(run_cli, write(tmp_path, *ROWS), "--dry-run")
    assert result["dry_run"] is True
    assert [(r["action"], r["outage_id"]) for r in result["rows"]] == [("create", None)] * 2
    assert outage_rows(city) == []
    text = run_cli("outages", "import", str(write(tmp_path, *ROWS)), "--dry-run", "--now", NOW)
    assert "Dry run, nothing written" in text.output
    assert "2 create" in text.output


def test_a_cancelled_outage_row_must_not_change(run_cli, city: Database, tmp_path: Path) -> None:
    imported(run_cli, write(tmp_path, ROWS[0]))
    assert run_cli("outages", "cancel", "1", now=at(NOW)).exit_code == 0
    same = imported(run_cli, write(tmp_path, ROWS[0], name="same.csv"))
    assert [r["action"] for r in same["rows"]] == ["unchanged"]
    moved = ROWS[0].replace("2026-12-10T14:00", "2026-12-10T16:00")
    result = run_cli("outages", "import", str(write(tmp_path, moved, name="m.csv")), now=at(NOW))
    assert result.exit_code == 1
    assert "outage #1 is cancelled: it cannot change" in result.output


def test_short_notice_flag_applies_to_the_file(run_cli, city: Database, tmp_path: Path) -> None:
    row = "WO-9,water,Burst main,,2026-12-01T20:00,2026-12-01T22:00,W01"
    result = imported(run_cli, write(tmp_path, row), "--short-notice")
    assert result["counts"]["create"] == 1


def test_every_problem_of_every_row_is_listed_at_once(
    run_cli, city: Database, tmp_path: Path
) -> None:
    rows = [
        "WO-7,water,T,,10 Dec 10am,2026-12-10T14:00,W01",  # unreadable time
        "WO-8,water,T,,2026-12-10T10:00,2026-12-10T14:00,W77",  # unknown area
        "WO-7,water,T,,2026-12-10T10:00,2026-12-10T14:00,W01",  # repeats a bad first copy
    ]
    result = run_cli("outages", "import", str(write(tmp_path, *rows)), now=at(NOW))
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines()[1:]]
    assert lines == [
        "line 2: start '10 Dec 10am' is not an ISO 8601 time; expected e.g. 2026-12-01T08:00 "
        "(local) or 2026-12-01T08:00+08:00",
        "line 3 (ref WO-8): area W77 does not exist (see `outage-notify areas list`)",
        "line 4: ref WO-7 repeats line 2",
    ]
    assert outage_rows(city) == []
