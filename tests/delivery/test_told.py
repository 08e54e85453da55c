"""A change notice states the change against what each recipient was last told.

Planned through the real lifecycle, sent through the real outbox, dispatcher and composer;
only the SMS channel is a fake. Times are local (Asia/Shanghai), December 2026.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from channels.base import ChannelError, Message
from outage_notify.db import Database
from outage_notify.delivery.engine import build_engine
from outage_notify.models import Delivery, Notice
from outage_notify.planning import outages
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.engine import ScriptedChannel
from tests.factories import add_customer

ZONE = ZoneInfo("Asia/Shanghai")
A, B, C = "+8613800000001", "+8613800000002", "+8613800000003"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


class Phones(ScriptedChannel):
    """Records the texts; numbers in ``off`` fail (a phone switched off: undelivered)."""

    def __init__(self) -> None:
        self.off: set[str] = set()
        super().__init__(self._answer)

    def _answer(self, message: Message) -> None:
        if message.address in self.off:
            raise ChannelError("unreachable", permanent=True)

    def texts(self) -> dict[str, str]:
        """The last text each number got; cleared for the next dispatch."""
        last = {m.address: m.text for m in self.sent}
        self.sent.clear()
        return last


class City:
    def __init__(self, db: Database, settings: Settings, language: str) -> None:
        self.db, self.settings, self.language = db, settings, language
        self.phones = Phones()
        make_city(db)
        self.add("A", A)
        with db.session() as session:
            draft = outages.OutageDraft(
                utility="water",
                title="Main",
                start=local("2026-12-10T08:00"),
                end=local("2026-12-10T12:00"),
                areas=["W01"],
            )
            outage = outages.plan_outage(
                session, draft, settings=settings, now=local("2026-12-01T09:00"), actor="t"
            )
            assert outage.id is not None
            self.outage_id = outage.id

    def add(self, account: str, phone: str) -> None:
        with self.db.session() as session:
            add_customer(session, account, phone=phone, language=self.language, water_area="W01")

    def dispatch(self, at: str) -> dict[str, str]:
        now = local(at)
        engine = build_engine(
            self.db,
            self.settings,
            channels={"sms": self.phones},
            clock=lambda: now,
            rates_of={"sms": 1000.0},
        )
        engine.dispatcher.run_once(now)
        engine.close()
        return self.phones.texts()

    def reschedule(self, at: str, start: str, end: str) -> None:
        with self.db.session() as session:
            outages.reschedule(
                session,
                self.outage_id,
                start=local(start),
                end=local(end),
                settings=self.settings,
                now=local(at),
                actor="t",
            )

    def extend(self, at: str, end: str) -> None:
        with self.db.session() as session:
            outages.extend(
                session,
                self.outage_id,
                end=local(end),
                settings=self.settings,
                now=local(at),
                actor="t",
            )


def _told_thursday_and_friday(db: Database, settings: Settings, language: str) -> City:
    """A was told Thursday 10 Dec; B, who moved in after, was told Friday 11 Dec only: the
    reschedule reached B while A's phone was off."""
    city = City(db, settings, language)
    assert set(city.dispatch("2026-12-07T08:00")) == {A}  # the 72-hour advance notice
    city.add("B", B)
    city.phones.off = {A}
    city.reschedule("2026-12-08T10:00", "2026-12-11T08:00", "2026-12-11T12:00")
    told = city.dispatch("2026-12-08T10:00")
    city.phones.off = set()
    assert set(told) == {B}
    # B never heard of Thursday: a plain notice of the work, not a "change".
    assert NEW_FRIDAY[language] in told[B]
    return city


NEW_FRIDAY = {
    "en": "planned water shutoff in Renmin Road, Fri 11 Dec 08:00-12:00.",
    "zh-CN": "人民路片区计划于12月11日(周五)08:00-12:00停水",
}


@pytest.mark.parametrize(
    ("language", "to_a", "to_b"),
    [
        (
            "en",
            "is now Fri 11 Dec 08:00-15:00, was Thu 10 Dec 08:00-12:00.",
            "is extended, now Fri 11 Dec 08:00-15:00, was until Fri 11 Dec 12:00.",
        ),
        (
            "zh-CN",
            "停水改期：人民路片区改为12月11日(周五)08:00-15:00，原12月10日08:00-12:00。",
            "停水延长：人民路片区停水时间延长为12月11日(周五)08:00-15:00，原定12月11日12:00恢复。",
        ),
    ],
)
def test_an_extension_tells_each_recipient_against_what_they_were_last_told(
    db: Database, settings: Settings, language: str, to_a: str, to_b: str
) -> None:
    city = _told_thursday_and_friday(db, settings, language)
    city.extend("2026-12-09T10:00", "2026-12-11T15:00")
    texts = city.dispatch("2026-12-09T10:00")
    assert set(texts) == {A, B}
    assert to_a in texts[A]  # told Thursday: for A the day moved too
    assert to_b in texts[B]  # told Friday: for B it is an extension


@pytest.mark.parametrize(
    ("language", "to_a", "to_b", "to_c"),
    [
        (
            "en",
            "is now Sat 12 Dec 08:00-15:00, was Thu 10 Dec 08:00-12:00.",
            "is now Sat 12 Dec 08:00-15:00, was Fri 11 Dec 08:00-12:00.",
            "planned water shutoff in Renmin Road, Sat 12 Dec 08:00-15:00.",
        ),
        (
            "zh-CN",
            "改为12月12日(周六)08:00-15:00，原12月10日08:00-12:00。",
            "改为12月12日(周六)08:00-15:00，原12月11日08:00-12:00。",
            "人民路片区计划于12月12日(周六)08:00-15:00停水",
        ),
    ],
)
def test_a_reschedule_merged_into_an_extension_names_what_each_group_had(
    db: Database, settings: Settings, language: str, to_a: str, to_b: str, to_c: str
) -> None:
    city = _told_thursday_and_friday(db, settings, language)
    city.add("C", C)  # moved in after both: never told anything
    # Moved to Saturday (for everyone: the 72-hour notice is due now), then extended before
    # that change went out: one notice, to everyone the change was for.
    city.reschedule("2026-12-09T10:00", "2026-12-12T08:00", "2026-12-12T12:00")
    city.extend("2026-12-09T10:05", "2026-12-12T15:00")
    texts = city.dispatch("2026-12-09T10:05")
    assert set(texts) == {A, B, C}
    assert to_a in texts[A]
    assert to_b in texts[B]
    assert to_c in texts[C]
    with db.read() as session:
        rows = session.exec(
            select(Delivery.address, Delivery.told_revision)
            .join(Notice, Notice.id == Delivery.notice_id)  # type: ignore[arg-type]
            .where(Notice.revision == 4)
        ).all()
    assert dict(rows) == {A: 1, B: 2, C: 0}  # what the texts were stated against


def test_expanding_a_change_again_writes_nothing_twice(db: Database, settings: Settings) -> None:
    from outage_notify.delivery.outbox import expand_notice

    city = _told_thursday_and_friday(db, settings, "en")
    city.extend("2026-12-09T10:00", "2026-12-11T15:00")
    texts = city.dispatch("2026-12-09T10:00")
    with db.read() as session:
        extended = session.exec(select(Notice).where(Notice.kind == "extended")).one()
    assert extended.id is not None
    again = expand_notice(db, extended.id, local("2026-12-09T10:01"))
    assert again.deliveries == 0
    assert set(texts) == {A, B}
    assert city.dispatch("2026-12-09T10:02") == {}


def test_the_lookup_takes_any_address_a_contact_may_have(db: Database) -> None:
    # The address lists are written into the SQL (see told.py): quotes must survive.
    from outage_notify.delivery.told import LastTold
    from outage_notify.models import NoticeState
    from tests.factories import T0, add_area, add_notice, add_outage

    quoted = "o'brien@example.org"
    with db.session() as session:
        add_area(session, "W1")
        outage = add_outage(session)
        first = add_notice(session, outage)
        first.state = NoticeState.EXPANDED
        assert first.id is not None
        for address, state in ((quoted, "sent"), ("x@example.org", "failed")):
            session.add(
                Delivery(
                    notice_id=first.id,
                    channel="email",
                    address=address,
                    language="en",
                    state=state,
                    next_attempt_at=T0,
                    deadline=outage.start_at,
                )
            )
        outage.revision = 2
        changed = add_notice(session, outage, kind="changed", revision=2)
        session.flush()
        told = LastTold(session, changed).revisions([quoted, "x@example.org", "y'@z.org"])
    assert told == {quoted: 1}  # a failed send told nobody


@pytest.mark.parametrize(
    ("language", "to_a", "to_b"),
    [
        ("en", "planned for Thu 10 Dec 08:00-12:00 is cancelled", "planned for Fri 11 Dec"),
        ("zh-CN", "原定12月10日(周四)08:00-12:00的停水已取消", "原定12月11日(周五)08:00-12:00"),
    ],
)
def test_a_cancellation_names_the_work_as_each_recipient_was_told_it(
    db: Database, settings: Settings, language: str, to_a: str, to_b: str
) -> None:
    city = _told_thursday_and_friday(db, settings, language)
    with db.session() as session:
        outages.cancel(
            session, city.outage_id, settings=settings, now=local("2026-12-09T10:00"), actor="t"
        )
    texts = city.dispatch("2026-12-09T10:00")
    assert to_a in texts[A]  # A only ever heard Thursday
    assert to_b in texts[B]
