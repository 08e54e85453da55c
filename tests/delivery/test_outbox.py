from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from outage_notify.db import Database
from outage_notify.delivery.outbox import expand_due, expand_notice, expire_overdue, next_due
from outage_notify.models import Delivery, Notice, OptOut
from tests.factories import T0, add_area, add_customers, add_notice, add_outage


def _deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


def test_due_notice_expands_into_one_delivery_per_recipient_and_channel(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 3)
        add_customers(session, 1, start=10, email=None)  # sms only
        add_customers(session, 1, start=20, phone="+8613800000000")  # shares c0's phone
        notice = add_notice(session, add_outage(session), due=T0)
    summary = expand_due(db, T0)
    assert summary.notices == 1
    deliveries = _deliveries(db)
    assert sorted((d.channel, d.state) for d in deliveries).count(("sms", "pending")) == 4
    assert sorted((d.channel, d.state) for d in deliveries).count(("email", "pending")) == 4
    assert len(deliveries) == summary.deliveries == 8
    assert {d.notice_id for d in deliveries} == {notice.id}
    assert all(d.deadline == notice.deadline for d in deliveries)


def test_expansion_is_safe_to_repeat(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 4)
        notice = add_notice(session, add_outage(session), due=T0)
    assert expand_due(db, T0).deliveries == 8
    assert expand_due(db, T0).notices == 0  # already expanded: nothing to do
    # Even forced (a crash after inserting, before the state change was seen), no duplicates.
    with db.session() as session:
        row = session.get(Notice, notice.id)
        assert row is not None
        row.state = "pending"
    assert notice.id is not None
    assert expand_notice(db, notice.id, T0).deliveries == 0
    assert len(_deliveries(db)) == 8


def test_recipients_are_matched_when_due_not_when_planned(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_notice(session, add_outage(session), due=T0 + timedelta(hours=1))
    assert expand_due(db, T0).notices == 0  # not due yet
    with db.session() as session:
        add_customers(session, 2)  # moved in after planning
    assert expand_due(db, T0 + timedelta(hours=1)).deliveries == 4


def test_opted_out_and_contactless_recipients_are_recorded_as_skipped(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 1, channels="sms;email")
        add_customers(session, 1, start=5, phone=None, channels="sms;email")
        session.add(OptOut(channel="email", address="c0@example.org", source="email"))
        add_notice(session, add_outage(session))
    expand_due(db, T0)
    got = sorted((d.channel, d.state, d.error or "") for d in _deliveries(db))
    assert got == [
        ("email", "pending", ""),
        ("email", "skipped", "opted_out"),
        ("sms", "pending", ""),
        ("sms", "skipped", "no_contact"),
    ]
    contactless = [d for d in _deliveries(db) if d.error == "no_contact"]
    assert contactless[0].address == f"customer:{contactless[0].customer_id}"


def test_disabled_channel_is_skipped_not_sent(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2)
        add_notice(session, add_outage(session))
    expand_due(db, T0, enabled_channels=["email"])
    states = sorted({(d.channel, d.state, d.error) for d in _deliveries(db)})
    assert states == [("email", "pending", None), ("sms", "skipped", "channel_disabled")]


def test_notice_due_after_its_deadline_expires_unsent(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2)
        outage = add_outage(session, start=T0 + timedelta(hours=1))
        notice = add_notice(session, outage, due=T0 - timedelta(hours=24))
    summary = expand_due(db, T0 + timedelta(hours=2))  # the daemon was down past the start
    assert summary.expired_notices == 1
    assert _deliveries(db) == []
    with db.read() as session:
        row = session.get(Notice, notice.id)
        assert row is not None
        assert row.state == "expired"


def test_notice_expanded_late_but_before_the_start_is_marked_late(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 1)
        notice = add_notice(session, add_outage(session), due=T0 - timedelta(hours=10))
    assert expand_due(db, T0).late_notices == 1
    with db.read() as session:
        row = session.get(Notice, notice.id)
        assert row is not None
        assert row.late


def test_sms_waits_for_its_own_due_time(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 1)
        add_notice(session, add_outage(session), due=T0, sms_due=T0 + timedelta(hours=9))
    expand_due(db, T0)
    due = {d.channel: d.next_attempt_at for d in _deliveries(db)}
    assert due == {"email": T0, "sms": T0 + timedelta(hours=9)}
    assert next_due(db) == T0  # the pending email


def test_notice_of_an_old_revision_is_superseded_at_expansion(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 1)
        outage = add_outage(session)
        add_notice(session, outage)
        outage.revision = 2
    assert expand_due(db, T0).superseded_notices == 1
    assert _deliveries(db) == []


def test_expire_overdue_only_touches_pending(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2)
        add_notice(session, add_outage(session, start=T0 + timedelta(hours=1)))
    expand_due(db, T0)
    with db.session() as session:
        first = session.exec(select(Delivery).order_by(Delivery.id)).first()  # type: ignore[arg-type]
        assert first is not None
        first.state = "sent"
    assert expire_overdue(db, T0 + timedelta(hours=1)) == 3
    assert sorted(d.state for d in _deliveries(db)) == ["expired"] * 3 + ["sent"]


def test_expanded_times_compare_as_the_orm_writes_them(db: Database) -> None:
    # The outbox binds its rows through the driver: its times must be stored as the ORM
    # stores them, or "due at or before now" misses a delivery due exactly now (SQLite
    # compares the text).
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 2)
        notice = add_notice(session, add_outage(session), due=T0)
        written_by_orm = Delivery(
            notice_id=notice.id,
            channel="sms",
            address="+8613899999999",
            language="en",
            next_attempt_at=T0,
            deadline=notice.deadline,
        )
        session.add(written_by_orm)
    expand_due(db, T0)
    with db.read() as session:
        due_now = session.exec(
            select(Delivery).where(Delivery.next_attempt_at <= T0)  # type: ignore[arg-type]
        ).all()
        stored = {
            tuple(row)
            for row in session.connection().exec_driver_sql(
                "SELECT next_attempt_at, deadline, created_at = updated_at FROM delivery"
            )
        }
    assert len(due_now) == 5
    assert len({(a, d) for a, d, _same in stored}) == 1  # one spelling for the ORM and outbox
