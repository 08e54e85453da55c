from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import AuditEvent, Notice, Outage


def _outage(**overrides: object) -> Outage:
    values: dict[str, object] = {
        "utility": "water",
        "title": "Main replacement",
        "start_at": datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
        "end_at": datetime(2026, 12, 1, 4, 0, tzinfo=UTC),
        "area_codes": ["W01"],
    }
    values.update(overrides)
    return Outage(**values)  # type: ignore[arg-type]


def test_times_go_in_as_utc_and_come_back_aware(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    start = datetime(2026, 12, 1, 8, 0, tzinfo=shanghai)
    with db.session() as session:
        outage = _outage(start_at=start, end_at=start + timedelta(hours=4))
        session.add(outage)
        session.flush()
        outage_id = outage.id
    with db.read() as session:
        loaded = session.get(Outage, outage_id)
        assert loaded is not None
        assert loaded.start_at.tzinfo is not None
        assert loaded.start_at.utcoffset() == timedelta(0)
        assert loaded.start_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(_outage(start_at=datetime(2026, 12, 1, 8, 0)))
        session.flush()


def test_times_order_correctly_across_offsets(db: Database) -> None:
    base = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with db.session() as session:
        for hours, zone in (
            (0, UTC),
            (1, timezone(timedelta(hours=8))),
            (2, timezone(timedelta(hours=-5))),
        ):
            start = (base + timedelta(hours=hours)).astimezone(zone)
            session.add(
                _outage(title=f"t{hours}", start_at=start, end_at=start + timedelta(hours=1))
            )
    with db.read() as session:
        titles = session.exec(select(Outage.title).order_by(Outage.start_at)).all()  # type: ignore[arg-type]
    assert titles == ["t0", "t1", "t2"]


def test_json_columns_round_trip(db: Database) -> None:
    with db.session() as session:
        event = AuditEvent(
            actor="planner",
            action="outage.add",
            entity="outage",
            entity_id="1",
            after={"title": "水管维修", "areas": ["W01", "W02"]},
        )
        session.add(event)
        session.flush()
        event_id = event.id
    with db.read() as session:
        loaded = session.get(AuditEvent, event_id)
        assert loaded is not None
        assert loaded.after == {"title": "水管维修", "areas": ["W01", "W02"]}


def test_foreign_keys_are_enforced(db: Database) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(
            Notice(
                outage_id=999, revision=1, kind="advance", due_at=now, sms_due_at=now, deadline=now
            )
        )
        session.flush()


def test_failed_write_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(_outage())
        session.flush()
        raise RuntimeError("boom")
    with db.read() as session:
        assert session.exec(select(Outage)).all() == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_sqlite_write_sessions_take_the_write_lock_at_begin(sqlite_db: Database) -> None:
    """BEGIN IMMEDIATE: a second writer waits at BEGIN instead of failing mid-transaction."""
    order: list[str] = []
    first_has_lock = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with sqlite_db.session() as session:
            session.connection()  # BEGIN happens here
            first_has_lock.set()
            release_first.wait(5)
            session.add(_outage(title="first"))
            order.append("first committed")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_has_lock.wait(5)
    raw = sqlite_db.engine.raw_connection()
    try:
        raw.execute("PRAGMA busy_timeout=0")  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="locked"):
            raw.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
    finally:
        raw.close()
    # A read session does not need the write lock.
    with sqlite_db.read() as session:
        assert session.exec(select(Outage)).all() == []
    release_first.set()
    thread.join(5)
    assert order == ["first committed"]
