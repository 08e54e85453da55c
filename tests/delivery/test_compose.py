"""The composer's email: the calendar attachment made once per notice and second, the same
bytes as one made for each recipient."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar

from channels.base import Message
from outage_notify.db import Database
from outage_notify.delivery.attempts import ClaimedDelivery
from outage_notify.delivery.compose import NoticeComposer
from outage_notify.notices.email import compose_email
from outage_notify.settings import Settings
from tests.factories import T0, add_area, add_notice, add_outage


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _claimed(notice_id: int, outage_id: int, n: int) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=n,
        notice_id=notice_id,
        outage_id=outage_id,
        kind="advance",
        channel="email",
        address=f"resident{n}@example.org",
        language="en",
        customer_id=n,
        subscriber_id=None,
        attempts=1,
        due_at=T0,
        deadline=T0 + timedelta(days=2),
        claimed_by="test",
        claimed_at=T0,
    )


def _stamp(message: Message) -> datetime:
    calendar = Calendar.from_ical(message.attachments[0].data)
    return calendar.walk("VEVENT")[0].decoded("DTSTAMP")


def test_emails_of_one_notice_share_its_calendar_within_a_second(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        add_area(session, "W1")
        outage = add_outage(session, codes=["W1"])
        notice = add_notice(session, outage)
        assert outage.id is not None
        assert notice.id is not None
        ids = notice.id, outage.id
    clock = Clock(T0 + timedelta(microseconds=100))
    composer = NoticeComposer(db, settings, clock=clock)
    first = composer.compose(_claimed(*ids, 1))
    clock.now = T0 + timedelta(microseconds=900_000)
    second = composer.compose(_claimed(*ids, 2))
    assert second.attachments[0] is first.attachments[0]
    assert second.address != first.address
    assert second.text != first.text
    # Byte for byte what composing each email on its own gives.
    alone = compose_email(
        composer.context(ids[0], "en"),
        delivery_id=2,
        recipient_id="customer:2",
        address="resident2@example.org",
        settings=settings,
        now=clock.now,
    )
    assert alone.attachments == second.attachments
    clock.now = T0 + timedelta(seconds=1)
    third = composer.compose(_claimed(*ids, 3))
    assert _stamp(third) == T0 + timedelta(seconds=1)
    assert _stamp(first) == T0
