"""Reply 1 to the SMS: a critical-needs customer acknowledges, and the ladder stops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import Escalation, EscalationEvent, InboundMessage
from outage_notify.residents.acknowledgements import awaiting_acknowledgement
from outage_notify.residents.inbound import Keyword, handle_inbound, parse
from outage_notify.settings import Settings
from tests.factories import add_area, add_customer, add_notice, add_outage
from tests.sms_records import NOW

PHONE = "+8613800138000"


@pytest.fixture
def waiting(db: Database) -> Database:
    with db.session() as session:
        add_area(session, "W1")
        customer = add_customer(session, "C1", phone=PHONE, water_area="W1", critical=True)
        outage = add_outage(session, start=NOW + timedelta(days=2))
        notice = add_notice(session, outage, due=NOW)
        session.add(
            Escalation(
                outage_id=outage.id or 0,
                customer_id=customer.id or 0,
                notice_id=notice.id or 0,
                start_at=outage.start_at,
                notified_at=NOW,
                call_at=NOW + timedelta(hours=4),
                door_knock_at=NOW + timedelta(hours=6),
            )
        )
    return db


def reply_to(db: Database, settings: Settings, body: str) -> str | None:
    with db.session() as session:
        return handle_inbound(
            session, settings, sid=None, from_address=PHONE, body=body, now=NOW
        ).reply


@pytest.mark.parametrize("body", ["1", " 1 ", "１", "1."])
def test_one_is_the_acknowledgement_keyword(body: str) -> None:
    assert parse(body).keyword == Keyword.ACK


def test_reply_1_acknowledges_and_thanks(waiting: Database, settings: Settings) -> None:
    with waiting.read() as session:
        assert awaiting_acknowledgement(session, phone=PHONE)
    reply = reply_to(waiting, settings, "1")
    assert reply is not None
    assert "确认" in reply
    with waiting.read() as session:
        escalation = session.exec(select(Escalation)).one()
        [event] = session.exec(select(EscalationEvent)).all()
        assert not awaiting_acknowledgement(session, phone=PHONE)
    assert (escalation.stage, escalation.acknowledged_via, escalation.acknowledged_at) == (
        "acknowledged",
        "sms",
        NOW,
    )
    assert (event.step, event.channel) == ("acknowledged", "sms")


def test_a_1_nobody_waits_for_gets_the_help_text(db: Database, settings: Settings) -> None:
    reply = reply_to(db, settings, "1")
    assert reply is not None
    assert "TD" in reply  # the help text, as for any message that is no keyword
    with db.read() as session:
        [stored] = session.exec(select(InboundMessage)).all()
    assert stored.body == "1"
