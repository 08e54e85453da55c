from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.delivery.status_callbacks import (
    Outcome,
    StatusReport,
    advance,
    apply_contact_flag,
    apply_status_report,
)
from outage_notify.models import AuditEvent, Customer, Delivery, DeliveryState, OptOut
from outage_notify.residents import optouts
from tests.sms_records import NOW, add_customer, add_delivery

SID = "SM" + "0" * 32
PHONE = "+8613800138000"


def report(
    db: Database, status: str, *, sid: str = SID, code: str | None = None, hint: int | None = None
) -> Outcome:
    with db.session() as session:
        return apply_status_report(
            session,
            StatusReport(sid=sid, status=status, error_code=code, delivery_id=hint),
            now=NOW + timedelta(minutes=1),
        )


def delivery_state(db: Database, delivery_id: int) -> tuple[str, str | None, str | None]:
    with db.read() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row.state, row.error_code, row.provider_id


def make_delivery(db: Database, **fields: object) -> int:
    with db.session() as session:
        delivery = add_delivery(session, **fields)  # type: ignore[arg-type]
        assert delivery.id is not None
        return delivery.id


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # a late "sent" changes nothing
        (["delivered", "delivered"], "delivered"),
        (["queued", "sending", "sent"], "sent"),
        (["undelivered", "delivered"], "undelivered"),  # the first final state wins
        (["failed", "sent", "queued"], "failed"),
        (["sent", "read"], "delivered"),
        (["canceled"], "sent"),  # not a status of ours
    ],
)
def test_status_callbacks_only_move_forward(db: Database, sequence: list[str], final: str) -> None:
    delivery_id = make_delivery(db)
    for status in sequence:
        report(db, status)
    assert delivery_state(db, delivery_id)[0] == final


def test_a_duplicated_callback_changes_nothing_the_second_time(db: Database) -> None:
    delivery_id = make_delivery(db)
    assert report(db, "delivered") == Outcome.UPDATED
    with db.read() as session:
        first = session.get(Delivery, delivery_id)
        assert first is not None
        delivered_at = first.delivered_at
    assert report(db, "delivered") == Outcome.UNCHANGED
    with db.read() as session:
        again = session.get(Delivery, delivery_id)
        assert again is not None
        assert again.delivered_at == delivered_at == NOW + timedelta(minutes=1)


def test_error_codes_are_recorded_with_their_state(db: Database) -> None:
    delivery_id = make_delivery(db)
    report(db, "undelivered", code="30003")
    report(db, "sent")  # late, no code: the code stays
    assert delivery_state(db, delivery_id)[:2] == ("undelivered", "30003")
    with db.read() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        assert row.error == "Twilio 30003: handset unreachable"


def test_a_late_callback_does_not_pin_its_code_on_a_newer_state(db: Database) -> None:
    delivery_id = make_delivery(db)
    report(db, "delivered")
    report(db, "failed", code="30008")
    assert delivery_state(db, delivery_id)[:2] == ("delivered", None)


def test_an_unknown_sid_changes_nothing(db: Database) -> None:
    delivery_id = make_delivery(db)
    assert report(db, "delivered", sid="SMunknown") == Outcome.UNKNOWN
    assert delivery_state(db, delivery_id)[0] == "sent"


def test_the_delivery_hint_finds_a_row_whose_sid_is_not_written_yet(db: Database) -> None:
    # The callback beat the dispatcher: the row is still "sending" and knows no SID.
    delivery_id = make_delivery(db, state="sending", provider_id=None)
    assert report(db, "delivered", sid="SMearly", hint=delivery_id) == Outcome.UPDATED
    assert delivery_state(db, delivery_id) == ("delivered", None, "SMearly")


def test_the_hint_never_moves_a_row_that_belongs_to_another_message(db: Database) -> None:
    delivery_id = make_delivery(db, provider_id="SMlater")
    assert report(db, "failed", sid="SMearlier", hint=delivery_id) == Outcome.UNKNOWN
    assert delivery_state(db, delivery_id) == ("sent", None, "SMlater")


def test_queued_never_adopts_a_row_through_the_hint(db: Database) -> None:
    delivery_id = make_delivery(db, state="pending", provider_id=None)
    report(db, "queued", sid="SMx", hint=delivery_id)
    assert delivery_state(db, delivery_id) == ("pending", None, None)


@pytest.mark.parametrize("state", ["skipped", "expired", "superseded"])
def test_a_provider_never_moves_a_delivery_we_closed(db: Database, state: str) -> None:
    delivery_id = make_delivery(db, state=state)
    assert report(db, "delivered") == Outcome.UNCHANGED
    assert delivery_state(db, delivery_id)[0] == state


def test_21610_records_an_opt_out_from_the_provider(db: Database) -> None:
    make_delivery(db, address=PHONE)
    report(db, "failed", code="21610")
    report(db, "failed", code="21610")  # again: still one
    with db.read() as session:
        rows = session.exec(select(OptOut)).all()
        assert [(r.channel, r.address, r.source) for r in rows] == [("sms", PHONE, "provider")]


@pytest.mark.parametrize("code", ["30005", "30006", "21211", "21614"])
def test_invalid_number_codes_flag_the_customers_phone(db: Database, code: str) -> None:
    with db.session() as session:
        customer = add_customer(session, "ACC-1", PHONE)
        sharing = add_customer(session, "ACC-2", PHONE)  # one phone, two accounts
        other = add_customer(session, "ACC-3", "+8613900000000")
        add_delivery(session, address=PHONE, customer_id=customer.id)
        ids = [customer.id, sharing.id, other.id]
    report(db, "undelivered", code=code)
    report(db, "undelivered", code=code)
    with db.read() as session:
        flags = [session.get(Customer, i).phone_invalid for i in ids]  # type: ignore[union-attr]
        events = session.exec(select(AuditEvent.action)).all()
    assert flags == [True, True, False]
    assert events == ["customer.phone_invalid", "customer.phone_invalid"]
    with db.read() as session:
        assert not optouts.is_opted_out(session, "sms", PHONE)


@pytest.mark.parametrize("code", ["30003", "30007", "30008", ""])
def test_other_codes_teach_nothing_about_the_contact(db: Database, code: str) -> None:
    with db.session() as session:
        customer = add_customer(session, "ACC-1", PHONE)
        add_delivery(session, address=PHONE, customer_id=customer.id)
    report(db, "undelivered", code=code or None)
    with db.read() as session:
        assert session.exec(select(Customer.phone_invalid)).all() == [False]
        assert session.exec(select(OptOut)).all() == []


def test_apply_contact_flag_for_email(db: Database) -> None:
    with db.session() as session:
        add_customer(session, "ACC-1", PHONE, email="a@example.org")
        learned = apply_contact_flag(
            session, channel="email", address="a@example.org", flag="invalid_contact", actor="t"
        )
    assert learned
    with db.read() as session:
        assert session.exec(select(Customer.email_invalid, Customer.phone_invalid)).one() == (
            True,
            False,
        )


def test_advance_sets_sent_and_delivered_times() -> None:
    delivery = Delivery(
        notice_id=1,
        channel="sms",
        address=PHONE,
        language="en",
        state=DeliveryState.SENDING,
        next_attempt_at=NOW,
        deadline=NOW,
    )
    assert advance(delivery, DeliveryState.DELIVERED, now=NOW)
    assert (delivery.sent_at, delivery.delivered_at) == (NOW, NOW)
    assert not advance(delivery, DeliveryState.SENT, now=NOW + timedelta(hours=1))
    assert delivery.state == DeliveryState.DELIVERED
