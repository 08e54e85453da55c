from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from outage_notify.db import Database
from outage_notify.models import Delivery, Notice, Outage, Subscriber, SubscriberStatus

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def _notice(db: Database) -> int:
    with db.session() as session:
        outage = Outage(
            utility="water",
            title="t",
            start_at=NOW,
            end_at=NOW + timedelta(hours=2),
            area_codes=["W01"],
        )
        session.add(outage)
        session.flush()
        assert outage.id is not None
        notice = Notice(
            outage_id=outage.id,
            revision=1,
            kind="advance",
            due_at=NOW,
            sms_due_at=NOW,
            deadline=NOW,
        )
        session.add(notice)
        session.flush()
        assert notice.id is not None
        return notice.id


def _delivery(notice_id: int, address: str, channel: str) -> Delivery:
    return Delivery(
        notice_id=notice_id,
        channel=channel,
        address=address,
        language="en",
        next_attempt_at=NOW,
        deadline=NOW,
    )


def test_delivery_is_unique_per_notice_recipient_and_channel(db: Database) -> None:
    notice_id = _notice(db)
    with db.session() as session:
        session.add(_delivery(notice_id, "+8613800000001", "sms"))
        session.add(_delivery(notice_id, "a@example.org", "email"))
        session.add(_delivery(notice_id, "+8613800000002", "sms"))

    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), db.session() as session:
        session.add(_delivery(notice_id, "+8613800000001", "sms"))
        session.flush()

    with db.read() as session:
        assert len(session.exec(Delivery.__table__.select()).all()) == 3  # type: ignore[attr-defined]


def test_same_recipient_may_get_another_channel_or_notice(db: Database) -> None:
    first = _notice(db)
    second = _notice(db)
    with db.session() as session:
        session.add(_delivery(first, "x", "sms"))
        session.add(_delivery(first, "x", "email"))
        session.add(_delivery(second, "x", "sms"))


def test_a_subscription_moves_only_as_the_table_allows() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = Subscriber(
        channel="sms", address="+1", area_code="W1", language="en", consent_source="web"
    )
    assert row.status == SubscriberStatus.PENDING
    assert row.move_to(SubscriberStatus.ACTIVE, now) == "pending"
    assert row.status == "active"  # the stored values stay the strings they were
    with pytest.raises(ValueError, match="no move from active to pending"):
        row.move_to(SubscriberStatus.PENDING, now)
    assert row.move_to(SubscriberStatus.UNSUBSCRIBED, now) == "active"
    assert row.move_to(SubscriberStatus.ACTIVE, now) == "unsubscribed"
