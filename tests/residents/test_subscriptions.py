"""Sign-ups and their confirmation, without the web: pending rows, secrets, consent, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.models import AuditEvent, Subscriber
from outage_notify.residents import optouts
from outage_notify.residents.subscription_secrets import parse_stored_code
from outage_notify.residents.subscriptions import (
    CODE_TRIES,
    EMAIL_LINK_VALID,
    RESEND_AFTER,
    SMS_CODE_VALID,
    SignUp,
    confirm_by_reply,
    confirm_email,
    confirm_sms_code,
    forget_request,
    read_confirmation,
    request_subscription,
)
from outage_notify.settings import Settings

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
EMAIL = SignUp("email", "resident@example.net", ("A1", "A2"), "en")
PHONE = SignUp("sms", "+8613800138000", ("A1",), "zh-CN")


def rows(db: Database) -> list[tuple[str, str, str, str | None]]:
    with db.read() as session:
        found = session.exec(select(Subscriber).order_by(col(Subscriber.id))).all()
        return [(s.channel, s.area_code, s.status, s.consent_source) for s in found]


def request(db: Database, settings: Settings, sign_up: SignUp, now: datetime = NOW):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return request_subscription(session, settings, sign_up, now=now)


def test_an_email_sign_up_writes_pending_rows_and_a_link(db: Database, settings: Settings) -> None:
    requested = request(db, settings, EMAIL)
    assert requested.outcome == "send"
    assert requested.expires_at == NOW + EMAIL_LINK_VALID
    assert rows(db) == [("email", "A1", "pending", "web"), ("email", "A2", "pending", "web")]
    with db.read() as session:
        stored = session.exec(select(Subscriber.confirm_secret_hash)).all()
        events = session.exec(select(AuditEvent.action)).all()
    assert requested.secret is not None
    assert requested.secret not in stored  # only the nonce's hash is kept
    assert events == ["subscriber.request", "subscriber.request"]


def test_the_link_confirms_once_and_records_the_consent(db: Database, settings: Settings) -> None:
    token = request(db, settings, EMAIL).secret
    assert token is not None
    later = NOW + timedelta(hours=5)
    with db.session() as session:
        confirmed = confirm_email(session, settings, token, now=later)
    assert (confirmed.address, confirmed.area_codes) == ("resident@example.net", ("A1", "A2"))
    assert len(confirmed.newly) == 2
    with db.read() as session:
        for row in session.exec(select(Subscriber)):
            assert (row.status, row.consent_source, row.consent_at) == ("active", "web", later)
    with db.session() as session:  # a second click
        again = confirm_email(session, settings, token, now=later + timedelta(minutes=1))
    assert again.newly == ()
    with db.read() as session:
        confirms = session.exec(
            select(AuditEvent).where(AuditEvent.action == "subscriber.confirm")
        ).all()
    assert len(confirms) == 2


@pytest.mark.parametrize(
    "case", ["expired", "tampered", "replaced by a newer sign-up", "forgotten", "unsubscribed"]
)
def test_a_link_that_no_longer_stands_is_refused(
    db: Database, settings: Settings, case: str
) -> None:
    requested = request(db, settings, EMAIL)
    token, when = requested.secret or "", NOW + timedelta(hours=1)
    if case == "expired":
        when = NOW + EMAIL_LINK_VALID + timedelta(seconds=1)
    elif case == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "replaced by a newer sign-up":
        request(db, settings, EMAIL, now=NOW + RESEND_AFTER)
    elif case == "forgotten":
        with db.session() as session:
            forget_request(session, requested.subscriber_ids)
    else:
        with db.session() as session:
            confirm_email(session, settings, token, now=when)
            for row in session.exec(select(Subscriber)):
                row.status = "unsubscribed"
                session.add(row)
    with pytest.raises(InputError), db.session() as session:
        confirm_email(session, settings, token, now=when)
    assert {status for _, _, status, _ in rows(db)} <= {"pending", "unsubscribed"}


def test_reading_a_link_changes_nothing(db: Database, settings: Settings) -> None:
    token = request(db, settings, EMAIL).secret or ""
    with db.session() as session:
        assert [r.area_code for r in read_confirmation(session, settings, token, now=NOW)] == [
            "A1",
            "A2",
        ]
    assert {status for _, _, status, _ in rows(db)} == {"pending"}


def test_confirming_turns_an_opted_out_email_back_on(db: Database, settings: Settings) -> None:
    with db.session() as session:
        optouts.opt_out(
            session, channel="email", address=EMAIL.address, source="email", actor="test"
        )
    requested = request(db, settings, EMAIL)
    assert (requested.outcome, requested.was_opted_out) == ("send", True)
    with db.session() as session:
        confirmed = confirm_email(session, settings, requested.secret or "", now=NOW)
        assert confirmed.opted_back_in
        assert not optouts.is_opted_out(session, "email", EMAIL.address)


def test_an_opted_out_address_that_follows_its_areas_still_needs_to_confirm(
    db: Database, settings: Settings
) -> None:
    token = request(db, settings, EMAIL).secret or ""
    with db.session() as session:
        confirm_email(session, settings, token, now=NOW)
        optouts.opt_out(
            session, channel="email", address=EMAIL.address, source="planner", actor="test"
        )
    again = request(db, settings, EMAIL, now=NOW + timedelta(days=1))
    assert again.outcome == "send"  # not "already": it gets nothing while opted out
    with db.session() as session:
        confirm_email(session, settings, again.secret or "", now=NOW + timedelta(days=1))
        assert not optouts.is_opted_out(session, "email", EMAIL.address)


def test_areas_already_followed_need_nothing(db: Database, settings: Settings) -> None:
    token = request(db, settings, EMAIL).secret or ""
    with db.session() as session:
        confirm_email(session, settings, token, now=NOW)
    assert request(db, settings, EMAIL, now=NOW + timedelta(days=1)).outcome == "already"
    more = request(
        db,
        settings,
        SignUp("email", EMAIL.address, ("A2", "A3"), "en"),
        now=NOW + timedelta(days=1),
    )
    assert more.outcome == "send"
    assert rows(db)[-1] == ("email", "A3", "pending", "web")
    assert len(more.subscriber_ids) == 1


def test_a_second_message_within_a_minute_waits(db: Database, settings: Settings) -> None:
    request(db, settings, EMAIL)
    waiting = request(db, settings, EMAIL, now=NOW + timedelta(seconds=20))
    assert (waiting.outcome, waiting.retry_after) == ("wait", 40)
    assert request(db, settings, EMAIL, now=NOW + RESEND_AFTER).outcome == "send"


def code_of(db: Database, settings: Settings, now: datetime = NOW) -> str:
    requested = request(db, settings, PHONE, now=now)
    assert requested.outcome == "send"
    assert requested.secret is not None
    assert requested.secret.isdigit()
    assert len(requested.secret) == 6
    return requested.secret


def check(db: Database, settings: Settings, code: str, now: datetime = NOW):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return confirm_sms_code(session, settings, PHONE.address, code, now=now)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_right_code_confirms(db: Database, settings: Settings) -> None:
    code = code_of(db, settings)
    with db.read() as session:
        stored = session.exec(select(Subscriber.confirm_secret_hash)).one()
    assert code not in (stored or "")
    assert parse_stored_code(stored) is not None
    result = check(db, settings, code, NOW + timedelta(minutes=3))
    assert result.outcome == "confirmed"
    assert rows(db) == [("sms", "A1", "active", "web")]


def test_a_wrong_code_counts_down_the_tries(db: Database, settings: Settings) -> None:
    code = code_of(db, settings)
    lefts = [check(db, settings, wrong(code)) for _ in range(CODE_TRIES)]
    assert [(r.outcome, r.tries_left) for r in lefts] == [
        ("wrong", 4),
        ("wrong", 3),
        ("wrong", 2),
        ("wrong", 1),
        ("spent", 0),
    ]
    # Even the right code is refused now.
    assert check(db, settings, code).outcome == "spent"
    assert rows(db) == [("sms", "A1", "pending", "web")]


def test_an_expired_code_is_refused(db: Database, settings: Settings) -> None:
    code = code_of(db, settings)
    assert check(db, settings, code, NOW + SMS_CODE_VALID).outcome == "expired"
    assert rows(db) == [("sms", "A1", "pending", "web")]


def test_a_number_without_a_code_has_nothing_to_confirm(db: Database, settings: Settings) -> None:
    assert check(db, settings, "123456").outcome == "none"


def test_an_opted_out_number_gets_no_code_and_must_reply(db: Database, settings: Settings) -> None:
    with db.session() as session:
        optouts.opt_out(session, channel="sms", address=PHONE.address, source="sms", actor="t")
    requested = request(db, settings, PHONE)
    assert (requested.outcome, requested.secret) == ("reply_yes", None)
    assert check(db, settings, "123456").outcome == "none"
    with db.session() as session:
        confirmed = confirm_by_reply(
            session, PHONE.address, now=NOW + timedelta(minutes=5), actor="sms:test"
        )
    assert [s.area_code for s in confirmed] == ["A1"]
    assert rows(db) == [("sms", "A1", "active", "sms")]
