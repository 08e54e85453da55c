"""Seeded databases with known outcomes for the report tests.

The deliveries come from the real engine (``outbox.expand_due`` and a ``Dispatcher`` with
scripted channels); only what the engine cannot produce in a test is set by hand: a Twilio
status callback (``delivered``/``undelivered``) and a crash recovery's ``duplicate`` flag.
The hand counts in the tests follow from the comments here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from channels.base import ChannelError, DeliveryResult, Message
from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.delivery.status_callbacks import Outcome, StatusReport, apply_status_report
from outage_notify.models import Customer, Delivery, InboundMessage, Notice, OptOut, Outage
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.engine import ScriptedChannel, make_dispatcher
from tests.factories import (
    T0,
    add_area,
    add_customer,
    add_notice,
    add_outage,
    add_subscriber,
    cancel_outage,
    restore_outage,
)

Script = Callable[[Message], DeliveryResult | None]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database for a module-scoped fixture parametrized with ``BACKENDS``.

    Seeding a year takes the engine a second; read-only tests share one seeded copy.
    """
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("seeded") / "outage-notify.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.dispose()
        return
    url = create_postgres_database(request.getfixturevalue("postgres_base_url"))
    database = Database(url)
    try:
        migrations.upgrade(database)
        yield database
    finally:
        database.dispose()
        drop_postgres_database(url)


def failing(rules: dict[str, ChannelError]) -> Script:
    """A channel script that raises the error given for an address, else sends."""

    def script(message: Message) -> DeliveryResult | None:
        error = rules.get(message.address)
        if error is not None:
            raise error
        return None

    return script


def dispatch_at(
    db: Database,
    times: Iterable[datetime],
    *,
    sms: Script | None = None,
    email: Script | None = None,
) -> None:
    """Run the engine once at each time, in order, as the daemon would have."""
    for at in times:
        make_dispatcher(db, sms=ScriptedChannel(sms), email=ScriptedChannel(email)).run_once(at)


def set_delivery(
    db: Database, notice_id: int, channel: str, address: str, **values: object
) -> None:
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.notice_id) == notice_id,
                col(Delivery.channel) == channel,
                col(Delivery.address) == address,
            )
            .values(**values)
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]


def status_callback(
    db: Database,
    notice_id: int,
    address: str,
    status: str,
    *,
    code: str | None = None,
    at: datetime,
) -> None:
    """A Twilio status callback for the SMS of ``notice_id`` to ``address``, through the real
    handler (which may also flag the contact)."""
    with db.session() as session:
        delivery = session.exec(
            select(Delivery).where(
                col(Delivery.notice_id) == notice_id,
                col(Delivery.channel) == "sms",
                col(Delivery.address) == address,
            )
        ).one()
        assert delivery.provider_id is not None
        report = StatusReport(sid=delivery.provider_id, status=status, error_code=code)
        assert apply_status_report(session, report, now=at) == Outcome.UPDATED


def customer_ids(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {c.account_id: c.id for c in session.exec(select(Customer)).all()}  # type: ignore[misc]


# -- one outage, before its start ------------------------------------------------------------

START = T0 + timedelta(days=2)  # the work starts 2026-12-03 08:00 local, for 4 hours
LATE_RUN = T0 + timedelta(days=1, minutes=10)  # the daemon was down: the reminder goes late
REPORT_AT = T0 + timedelta(days=1, hours=1)  # before the 2-hour reminder falls due


@dataclass(frozen=True)
class OutageSeed:
    outage_id: int
    advance_id: int
    reminder_id: int
    last_call_id: int  # the 2-hour reminder, still pending at REPORT_AT


def seed_outage(db: Database) -> OutageSeed:
    """Outage 1 over W1; twelve affected premises with the outcomes written beside them.

    Notices: advance (due T0, sent at T0), reminder (due T0+1d, sent 10 minutes late),
    2-hour reminder (not yet due at REPORT_AT).
    """
    with db.session() as s:
        add_area(s, "W1")
        add_area(s, "W2", lon=122.0)
        add_customer(
            s,
            "A001",
            name="Zhang Wei",
            address="1 Water St",
            phone="+8613900000001",
            email="a001@example.org",
            water_area="W1",
        )  # reached: sms and email
        add_customer(
            s, "A002", name="Li Na", address="2 Water St", phone="+8613900000001", water_area="W1"
        )  # shares A001's phone: reached, though never named
        add_customer(
            s, "A003", name="Wang Fang", address="3 Water St", water_area="W1"
        )  # no contact at all
        add_customer(
            s,
            "A004",
            name="Zhao Lei",
            address="4 Water St",
            phone="+8613900000004",
            water_area="W1",
        )  # opted out of sms (its only channel)
        add_customer(
            s,
            "A005",
            name="Chen Jing",
            address="5 Water St",
            phone="+8613900000005",
            email="a005@example.org",
            water_area="W1",
        )  # both channels fail
        add_customer(
            s,
            "A006",
            name="Liu Yang",
            address="6 Water St",
            email="a006@example.org",
            water_area="W1",
        )  # email keeps timing out
        add_customer(
            s,
            "A007",
            name="Huang Min",
            address="7 Pipe Rd",
            phone="+8613900000007",
            latitude=31.05,
            longitude=121.05,
        )  # by polygon only; delivered
        add_customer(
            s, "A008", name="Far Away", phone="+8613900000008", water_area="W2"
        )  # not affected
        add_customer(
            s,
            "A009",
            name="Zhou Jie",
            address="9 Water St",
            email="a009@example.org",
            channels="sms",
            critical=True,
            water_area="W1",
        )  # wants sms, has no phone: tried by email, which fails
        add_customer(
            s,
            "A010",
            name="Wu Qiang",
            address="10 Water St",
            phone="+8613900000010",
            phone_invalid=True,
            water_area="W1",
        )  # phone flagged invalid earlier
        add_customer(
            s,
            "A011",
            name="Xu Li",
            address="11 Water St",
            email="a011@example.org",
            water_area="W1",
        )  # reached; the advance may have gone twice (crash)
        add_customer(
            s,
            "A013",
            name="Ma Lin",
            address="13 Water St",
            phone="+8613900000013",
            email="a013@example.org",
            water_area="W1",
        )  # sms opted out, email fails
        s.add(OptOut(channel="sms", address="+8613900000004", source="sms"))
        s.add(OptOut(channel="sms", address="+8613900000013", source="web"))
        add_subscriber(s, "sms", "+8613900000099")  # counted in deliveries, not premises
        outage = add_outage(s, start=START)
        advance = add_notice(s, outage, due=T0)
        reminder = add_notice(s, outage, kind="reminder", due=T0 + timedelta(days=1))
        last_call = add_notice(s, outage, kind="reminder", due=START - timedelta(hours=2))
    sms = failing(
        {"+8613900000005": ChannelError("carrier filtered", permanent=True, code="30007")}
    )
    mailbox = ChannelError("mailbox unavailable", permanent=True, code="550")
    email = failing(
        {
            "a005@example.org": mailbox,
            "a013@example.org": mailbox,
            "a009@example.org": mailbox,
            "a006@example.org": ChannelError(
                "503 Service Unavailable", permanent=False, code="503"
            ),
        }
    )
    dispatch_at(db, [T0, LATE_RUN], sms=sms, email=email)
    assert outage.id is not None
    assert advance.id is not None
    assert reminder.id is not None
    assert last_call.id is not None
    # A Twilio status callback said the advance reached A007's phone.
    status_callback(db, advance.id, "+8613900000007", "delivered", at=T0 + timedelta(minutes=1))
    # Crash recovery resent A011's advance without a provider lookup.
    set_delivery(db, advance.id, "email", "a011@example.org", duplicate=True)
    with db.session() as s:
        add_customer(
            s,
            "A012",
            name="Sun Hao",
            address="12 Water St",
            phone="+8613900000012",
            water_area="W1",
        )  # moved in after the reminders went out
    return OutageSeed(outage.id, advance.id, reminder.id, last_call.id)


# -- a year of outages -------------------------------------------------------------------------


def _outage(session: Session, outage_id: int) -> Outage:
    row = session.get(Outage, outage_id)
    assert row is not None
    return row


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@dataclass(frozen=True)
class YearSeed:
    outages: dict[str, int]  # name -> id


def seed_year(db: Database) -> YearSeed:
    """Outages around 2026 in Asia/Shanghai (UTC+8), with the figures the tests count by hand.

    W1 (water) has four premises: sms to PW1 is sent, to PW2 always fails (30003), PW4 opted
    out (skipped); email to EW1 and EW3 is sent. So every W1 notice makes sms 1 sent, 1 failed,
    1 skipped and email 2 sent. G1 (gas) has two premises: sms to PG1 and PG2, email to EG1.
    """
    with db.session() as s:
        add_area(s, "W1")
        add_area(s, "W2", lon=125.0)  # no premises
        add_area(s, "G1", utility="gas", lon=123.0)
        add_customer(s, "W-1", phone="+8613700000001", email="w1@example.org", water_area="W1")
        add_customer(s, "W-2", phone="+8613700000002", water_area="W1")
        add_customer(s, "W-3", email="w3@example.org", water_area="W1")
        add_customer(s, "W-4", phone="+8613700000004", water_area="W1")
        add_customer(s, "G-1", phone="+8613700000011", email="g1@example.org", gas_area="G1")
        add_customer(s, "G-2", phone="+8613700000012", gas_area="G1")
        s.add(
            OptOut(
                channel="sms", address="+8613700000004", source="sms", created_at=utc(2025, 11, 1)
            )
        )
        h = timedelta(hours=1)
        ids: dict[str, int] = {}
        notices: dict[str, Notice] = {}

        def outage(
            name: str, start: datetime, hours: int, codes: list[str], utility: str = "water"
        ) -> Outage:
            row = add_outage(
                s, start=start, hours=hours, codes=codes, utility=utility, title=f"Outage {name}"
            )
            assert row.id is not None
            ids[name] = row.id
            return row

        # 2025-12-31 23:59 local: in 2025.
        oi = outage("OI", utc(2025, 12, 31, 15, 59), 1, ["W1"])
        notices["OI"] = add_notice(s, oi, due=utc(2025, 12, 29, 15, 59))
        # 2026-01-01 00:00 local: the first minute of 2026. Lead 48 h.
        og = outage("OG", utc(2025, 12, 31, 16), 1, ["W1"])
        notices["OG"] = add_notice(s, og, due=utc(2025, 12, 29, 16))
        # Restored an hour late (5 h instead of 4). Lead 72 h.
        oa = outage("OA", utc(2026, 3, 10), 4, ["W1"])
        notices["OA-advance"] = add_notice(s, oa, due=utc(2026, 3, 7))
        notices["OA-reminder"] = add_notice(s, oa, kind="reminder", due=utc(2026, 3, 9))
        notices["OA-restored"] = add_notice(
            s, oa, kind="restored", due=utc(2026, 3, 10, 5), deadline=utc(2026, 3, 17), revision=2
        )
        # Planned late: lead 20 h, under the 24 h minimum.
        ob = outage("OB", utc(2026, 6, 1), 2, ["W1"])
        notices["OB"] = add_notice(s, ob, due=utc(2026, 6, 1) - 20 * h)
        # Gas, cancelled after its advance went out.
        oc = outage("OC", utc(2026, 8, 1), 3, ["G1"], "gas")
        notices["OC-advance"] = add_notice(s, oc, due=utc(2026, 7, 30))
        notices["OC-cancelled"] = add_notice(
            s, oc, kind="cancelled", due=utc(2026, 7, 31), revision=2
        )
        # Gas, restored after 4 of 6 planned hours. Its advance was due 48 h ahead but went 30 h
        # ahead (the daemon was down); its SMS, held for quiet hours past the start, expired.
        od = outage("OD", utc(2026, 9, 1), 6, ["G1"], "gas")
        notices["OD"] = add_notice(s, od, due=utc(2026, 8, 30), sms_due=utc(2026, 9, 1, 1))
        # Went ahead without any notice (started by the report's now).
        outage("OE", utc(2026, 10, 1), 1, ["W1"])
        # Nobody lives in W2: nothing to measure.
        outage("OF", utc(2026, 11, 1), 2, ["W2"])
        # 2027-01-01 00:00 local: in 2027.
        oh = outage("OH", utc(2026, 12, 31, 16), 1, ["W1"])
        notices["OH"] = add_notice(s, oh, due=utc(2026, 12, 29, 16))

        for channel, address, source, at in [
            ("email", "x1@example.org", "email", utc(2026, 4, 1)),
            ("sms", "+8613600000001", "sms", utc(2026, 5, 1)),
            ("sms", "+8613600000002", "planner", utc(2026, 12, 31, 15, 59)),  # 23:59 local
            ("email", "x2@example.org", "web", utc(2026, 12, 31, 16)),  # 2027 locally
        ]:
            s.add(OptOut(channel=channel, address=address, source=source, created_at=at))
        for keyword, at in [
            ("stop", utc(2026, 2, 1)),
            ("stop", utc(2026, 9, 9)),
            ("help", utc(2026, 3, 3)),
            ("start", utc(2026, 4, 4)),
            (None, utc(2026, 5, 5)),
            ("stop", utc(2026, 12, 31, 16)),  # 2027 locally
            ("help", utc(2025, 12, 31, 15)),  # 2025
        ]:
            s.add(
                InboundMessage(
                    from_address="+8613600000009",
                    body=keyword or "hello",
                    keyword=keyword,
                    received_at=at,
                )
            )
        for channel, address, source, at, status in [
            ("sms", "+8613600000021", "web", utc(2026, 2, 1), "active"),
            ("email", "s2@example.org", "web", utc(2026, 3, 1), "active"),
            ("sms", "+8613600000023", "sms", utc(2026, 7, 1), "unsubscribed"),
            ("email", "s4@example.org", "web", None, "pending"),  # never confirmed
            ("sms", "+8613600000025", "sms", utc(2025, 12, 31, 15), "active"),  # 2025
        ]:
            add_subscriber(
                s, channel, address, area="Z9", consent_at=at, source=source, status=status
            )

    failure = ChannelError("unreachable handset", permanent=True, code="30003")
    sms = failing({"+8613700000002": failure})
    dues = sorted({n.due_at for key, n in notices.items() if key != "OD"})
    # The daemon was down from OD's due time until 30 hours before its start.
    dispatch_at(db, sorted([*dues, utc(2026, 8, 30, 18), utc(2027, 1, 15)]), sms=sms)
    # Status callbacks: one email bounced after it was sent, one was confirmed delivered.
    set_delivery(db, notices["OA-advance"].id or 0, "email", "w3@example.org", state="undelivered")
    set_delivery(db, notices["OB"].id or 0, "email", "w1@example.org", state="delivered")
    # What the planners recorded (after the fact here, so the engine saw revision 1 notices).
    with db.session() as s:
        restore_outage(s, _outage(s, ids["OA"]), utc(2026, 3, 10, 5))
        cancel_outage(s, _outage(s, ids["OC"]))
        restore_outage(s, _outage(s, ids["OD"]), utc(2026, 9, 1, 4))
    return YearSeed(ids)
