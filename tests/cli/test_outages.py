"""The outages commands end to end through the CLI (``--now`` fixes the clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import AuditEvent, Customer, Notice, Outage
from tests.builders import make_city

NOW = ("--now", "2026-12-01T09:00")  # rehearsals: previews and dry runs
AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # the same instant, as the commands' clock
ADD = (
    *("outages", "add", "--utility", "water", "--start", "2026-12-10T10:00"),
    *("--end", "2026-12-10T14:00", "--area", "W01", "--area", "W02", "--title", "Main replacement"),
)


@pytest.fixture
def city(db: Database) -> Database:
    make_city(db)
    with db.session() as session:
        session.add(
            Customer(account_id="c1", phone="+8613800000001", language="zh-CN", water_area="W01")
        )
    return db


def run_json(run_cli, *args: str, now: datetime | None = None) -> Any:  # type: ignore[no-untyped-def]
    result = run_cli(*args, "--json", now=now)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return len(session.exec(select(model)).all())


def test_add_prints_the_created_outage_with_its_id(run_cli, city: Database) -> None:
    data = run_json(run_cli, *ADD, "--ref", "WO-1", "--actor", "alice", now=AT)
    assert data["id"] == 1
    assert data["start"] == "2026-12-10T10:00:00+08:00"
    assert data["areas"] == ["W01", "W02"]
    assert [n["kind"] for n in data["notices"]] == ["advance", "advance", "reminder", "reminder"]
    with city.read() as session:
        assert session.exec(select(Outage.created_by)).one() == "alice"


def test_add_text_output_lists_the_notices(run_cli, city: Database) -> None:
    result = run_cli(*ADD, now=AT)
    assert result.exit_code == 0
    assert "Planned #1 water W01, W02  2026-12-10 10:00 - 2026-12-10 14:00" in result.output
    assert "advance   to critical due 2026-12-03 10:00" in result.output


BAD_ADDS = [
    ("start after end", {"--end": "2026-12-10T09:00"}, "is not before end"),
    (
        "start in the past",
        {"--start": "2026-11-30T10:00", "--end": "2026-11-30T12:00"},
        "is in the past",
    ),
    (
        "inside min_notice",
        {"--start": "2026-12-01T18:00", "--end": "2026-12-01T20:00"},
        "less than schedule.min_notice (24h): plan earlier, or pass --short-notice",
    ),
    ("unknown area", {"--area": "W99"}, "area W99 does not exist"),
    ("other utility's area", {"--utility": "gas"}, "area W01 is a water area, not gas"),
    ("empty title", {"--title": ""}, "title is empty"),
    ("long title", {"--title": "x" * 121}, "title is 121 characters; at most 120"),
    ("not a time", {"--start": "tomorrow"}, "--start 'tomorrow' is not an ISO 8601 time"),
    ("a date only", {"--end": "2026-12-10"}, "--end '2026-12-10' has no time of day"),
    # Work-management systems' open ends and unknown dates: outside the planning window.
    ("open end 9999", {"--end": "9999-12-31T00:00"}, "end 9999-12-30 16:00 UTC is more than"),
    ("open end past the calendar", {"--end": "9999-12-31T23:59-05:00"}, "is off the calendar"),
    ("year 1", {"--start": "0001-01-01T00:00"}, "--start '0001-01-01T00:00' is off the calendar"),
    ("before 1970", {"--start": "1969-07-20T20:17Z"}, "is before 1970"),
    ("six years ahead", {"--end": "2032-12-10T14:00"}, "more than 5 years ahead"),
    (
        "a month for a day",
        {"--end": "2027-01-10T14:00"},
        "the shutoff would last 748h, longer than schedule.plausible_length (72h)",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_ADDS, ids=[c[0] for c in BAD_ADDS])
def test_bad_add_exits_1_with_the_reason_and_writes_nothing(
    run_cli, city: Database, case: str, change: dict[str, str], message: str
) -> None:
    args = list(ADD)
    for flag, value in change.items():
        if flag == "--area":
            args = [a for a in args if a not in ("W01", "W02", "--area")] + ["--area", value]
        else:
            args[args.index(flag) + 1] = value
    result = run_cli(*args, now=AT)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(city, Outage) == count(city, Notice) == 0


def test_short_notice_flag_allows_late_planning(run_cli, city: Database) -> None:
    args = [*ADD, "--short-notice"]
    args[args.index("--start") + 1], args[args.index("--end") + 1] = (
        "2026-12-01T18:00",
        "2026-12-01T20:00",
    )
    data = run_json(run_cli, *args, now=AT)
    assert data["short_notice"] is True


def test_dry_run_previews_and_writes_nothing(run_cli, city: Database) -> None:
    data = run_json(run_cli, *ADD, "--dry-run", *NOW)
    assert data["dry_run"] is True
    assert data["id"] is None
    assert data["preview"]["recipients"]["sms"]["total"] == 1
    assert count(city, Outage) == count(city, Notice) == count(city, AuditEvent) - 4 == 0
    text = run_cli(*ADD, "--dry-run", *NOW)
    assert "Dry run, nothing written: would plan (new) water" in text.output
    assert "Recipients by sms: 1 (zh-CN 1)" in text.output


def test_list_show_and_preview(run_cli, city: Database) -> None:
    run_json(run_cli, *ADD, "--ref", "WO-1", now=AT)
    run_json(run_cli, *ADD, "--ref", "WO-2", now=AT)
    assert run_cli("outages", "cancel", "2", now=AT).exit_code == 0

    planned = run_json(run_cli, "outages", "list", "--status", "planned")
    assert [o["ref"] for o in planned] == ["WO-1"]
    assert len(run_json(run_cli, "outages", "list")) == 2
    assert "#2 WO-2 water W01, W02" in run_cli("outages", "list", "--status", "cancelled").output

    shown = run_json(run_cli, "outages", "show", "2")
    assert [r["change"] for r in shown["revisions"]] == ["created", "cancelled"]
    assert shown["notices"][-1]["kind"] == "cancelled"
    assert "History:" in run_cli("outages", "show", "2").output

    preview = run_json(run_cli, "outages", "preview", "1", *NOW)
    for key in (
        "recipients",
        "by_match",
        "sms_segments",
        "sms_cost",
        "sms_eta_seconds",
        "notices",
        "texts",
        "warnings",
    ):
        assert key in preview
    assert preview["notices"][0]["shifted_for_quiet_hours"] is False
    text = run_cli("outages", "preview", "1", *NOW).output
    assert "[zh-CN advance, 2 segment(s)] 【城市供水】" in text


def test_lifecycle_through_the_cli(run_cli, city: Database) -> None:
    run_json(run_cli, *ADD, now=AT)
    moved = run_json(
        run_cli,
        "outages",
        "reschedule",
        "1",
        "--start",
        "2026-12-11T09:00",
        "--end",
        "2026-12-11T13:00",
        "--actor",
        "bob",
        now=AT,
    )
    assert moved["revision"] == 2
    assert moved["notices_added"][0]["kind"] == "changed"
    extended = run_json(run_cli, "outages", "extend", "1", "--end", "2026-12-11T15:00", now=AT)
    assert extended["end"] == "2026-12-11T15:00:00+08:00"
    restored = run_cli("outages", "restore", "1", now=datetime(2026, 12, 11, 7, 30, tzinfo=UTC))
    assert restored.exit_code == 0
    assert "Restored #1" in restored.output
    assert "restored  to notified" in restored.output
    with city.read() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity == "outage")).all()
    assert actions == ["outage.created", "outage.rescheduled", "outage.extended", "outage.restored"]


STARTED = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # 11:00 local, an hour into the work


@pytest.mark.parametrize(
    ("args", "now", "message"),
    [
        (("outages", "show", "9"), AT, "there is no outage #9"),
        (("outages", "preview", "9"), AT, "there is no outage #9"),
        (("outages", "cancel", "9"), AT, "there is no outage #9"),
        (
            ("outages", "extend", "1", "--end", "2026-12-10T12:00"),
            AT,
            "is not after the current end",
        ),
        (("outages", "restore", "1"), AT, "has not started"),
        (("outages", "cancel", "1"), STARTED, "started at"),
        (("outages", "reschedule", "1", "--start", "x", "--end", "y"), AT, "not an ISO 8601 time"),
    ],
)
def test_lifecycle_errors_exit_1(
    run_cli, city: Database, args: tuple[str, ...], now: datetime, message: str
) -> None:
    run_json(run_cli, *ADD, now=AT)
    result = run_cli(*args, now=now)
    assert result.exit_code == 1
    assert result.output.count(message) == 1, result.output  # said once, not repeated
    with city.read() as session:
        assert session.exec(select(Outage.revision)).one() == 1


MUTATING = [
    ADD,
    ("outages", "reschedule", "1", "--start", "2026-12-11T10:00", "--end", "2026-12-11T14:00"),
    ("outages", "extend", "1", "--end", "2026-12-10T18:00"),
    ("outages", "cancel", "1"),
    ("outages", "restore", "1"),
]


@pytest.mark.parametrize("args", MUTATING, ids=[" ".join(a[:2]) for a in MUTATING])
def test_now_on_a_command_that_changes_data_needs_dry_run(
    run_cli, city: Database, args: tuple[str, ...]
) -> None:
    run_json(run_cli, *ADD, now=AT)
    before = (count(city, Outage), count(city, Notice), count(city, AuditEvent))
    # Eight days ahead: the work would have started, and restore would tell residents so.
    result = run_cli(*args, "--now", "2026-12-10T11:00")
    assert result.exit_code == 1, result.output
    assert "--now is for rehearsals" in result.output
    assert "needs --dry-run" in result.output
    assert (count(city, Outage), count(city, Notice), count(city, AuditEvent)) == before


def test_a_lifecycle_dry_run_with_now_shows_the_change_and_writes_nothing(
    run_cli, city: Database
) -> None:
    run_json(run_cli, *ADD, now=AT)
    before = (count(city, Outage), count(city, Notice), count(city, AuditEvent))
    data = run_json(run_cli, "outages", "restore", "1", "--dry-run", "--now", "2026-12-10T15:00")
    assert (data["dry_run"], data["status"]) == (True, "restored")
    text = run_cli("outages", "restore", "1", "--dry-run", "--now", "2026-12-10T15:00").output
    assert text.startswith("Dry run, nothing written: would be Restored #1")
    assert (count(city, Outage), count(city, Notice), count(city, AuditEvent)) == before
    with city.read() as session:
        assert session.exec(select(Outage.status)).one() == "planned"


def test_restore_before_the_work_started_is_refused(run_cli, city: Database) -> None:
    run_json(run_cli, *ADD, now=AT)
    result = run_cli("outages", "restore", "1", now=AT)
    assert result.exit_code == 1
    assert "has not started (it starts 2026-12-10 10:00 +08:00)" in result.output


def test_a_long_shutoff_needs_confirming(run_cli, city: Database) -> None:
    args = list(ADD)
    args[args.index("--end") + 1] = "2026-12-14T14:00"  # four days and four hours
    assert run_cli(*args, now=AT).exit_code == 1
    data = run_json(run_cli, *args, "--long-shutoff", now=AT)
    assert data["end"] == "2026-12-14T14:00:00+08:00"
    refused = run_cli("outages", "extend", "1", "--end", "2026-12-20T14:00", now=AT)
    assert refused.exit_code == 1
    assert "longer than schedule.plausible_length" in refused.output
    extended = run_cli(
        "outages", "extend", "1", "--end", "2026-12-20T14:00", "--long-shutoff", now=AT
    )
    assert extended.exit_code == 0, extended.output


@pytest.mark.parametrize(
    "args",
    [
        ("outages", "show", "WO-2291"),
        ("outages", "preview", "WO-2291", *NOW),
        ("outages", "extend", "WO-2291", "--end", "2026-12-10T16:00"),
        ("outages", "cancel", "WO-2291"),
    ],
)
def test_the_work_order_ref_is_taken_wherever_an_id_is(
    run_cli, city: Database, args: tuple[str, ...]
) -> None:
    run_json(run_cli, *ADD, "--ref", "WO-2291", now=AT)
    result = run_cli(*args, now=AT)
    assert result.exit_code == 0, result.output
    assert "#1 WO-2291 water W01, W02" in result.output


def test_list_show_and_preview_show_the_ref(run_cli, city: Database) -> None:
    run_json(run_cli, *ADD, "--ref", "WO-2291", now=AT)
    assert "#1 WO-2291 water" in run_cli("outages", "list").output
    assert run_json(run_cli, "outages", "show", "WO-2291")["ref"] == "WO-2291"
    missing = run_cli("outages", "show", "WO-9")
    assert missing.exit_code == 1
    assert "there is no outage #WO-9 or with ref WO-9" in missing.output
