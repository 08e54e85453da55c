"""Reach and the door-hanger reasons, one premise at a time (table-driven)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from channels.base import ChannelError
from outage_notify.db import Database
from outage_notify.delivery.outbox import expand_due
from outage_notify.delivery.status_callbacks import StatusReport, apply_status_report
from outage_notify.models import Delivery, OptOut, Outage
from outage_notify.reports.coverage import DOOR_HANGER_COLUMNS, REASONS, Coverage, coverage
from tests.factories import (
    T0,
    add_area,
    add_customer,
    add_notice,
    add_outage,
    add_revision,
)
from tests.report_seeds import dispatch_at, failing

START = T0 + timedelta(days=2)
PHONE, EMAIL = "+8613800000001", "p@example.org"
PERMANENT = ChannelError("carrier filtered", permanent=True, code="30007")
TRANSIENT = ChannelError("503 Service Unavailable", permanent=False, code="503")


@dataclass
class Case:
    """One premise P1 in W1 and one outage starting at START, then what happens to it."""

    id: str
    customer: dict[str, Any]
    reason: str | None  # None: reached
    detail: str = ""
    notices: list[dict[str, Any]] = field(default_factory=lambda: [{"due": T0}])
    runs: list[datetime] = field(default_factory=lambda: [T0])
    sms: dict[str, ChannelError] = field(default_factory=dict)
    email: dict[str, ChannelError] = field(default_factory=dict)
    opt_outs: list[str] = field(default_factory=list)  # channels
    after: Callable[[Session, Outage], None] | None = None  # callbacks, changes
    now: datetime = T0 + timedelta(hours=1)
    email_enabled_only: bool = False
    joins_after_the_runs: bool = False


def _callback(status: str, code: str | None = None) -> Callable[[Session, Outage], None]:
    """A Twilio status callback for the one SMS, through the real handler."""

    def apply(session: Session, _outage: Outage) -> None:
        delivery = session.exec(select(Delivery).where(col(Delivery.channel) == "sms")).one()
        assert delivery.provider_id is not None
        report = StatusReport(sid=delivery.provider_id, status=status, error_code=code)
        assert apply_status_report(session, report, now=T0 + timedelta(minutes=5)) == "updated"

    return apply


def _reschedule(session: Session, outage: Outage) -> None:
    # The planning code marks the old revision's deliveries superseded and plans new notices;
    # here the new ones are not planned, so nothing replaced them.
    add_revision(
        session,
        outage,
        change="rescheduled",
        start=START + timedelta(days=1),
        end=START + timedelta(days=1, hours=4),
    )
    session.execute(
        update(Delivery)
        .where(col(Delivery.state) == "sent")
        .values(state="superseded", sent_at=None)
    )


BOTH = {"phone": PHONE, "email": EMAIL}
CASES = [
    Case("reached by sms and email", BOTH, None),
    Case("reached by one channel while the other failed", BOTH, None, email={EMAIL: PERMANENT}),
    Case("delivered, by a status callback", {"phone": PHONE}, None, after=_callback("delivered")),
    Case("no contact at all", {}, "no_contact", "no phone number or email address"),
    # Accepted drift: channels naming a contact the premise lacks (planning/reach.py).
    Case("wants sms, has only email: reached by email", {"email": EMAIL, "channels": "sms"}, None),
    Case(
        "wants both, has only a phone: reached by sms",
        {"phone": PHONE, "channels": "sms;email"},
        None,
    ),
    Case(
        "wants email, has only a phone that failed",
        {"phone": PHONE, "channels": "email"},
        "failed",
        "asked for email, has no email address, so every channel it has a contact for was "
        "used; sms: failed: 30007 carrier filtered",
        sms={PHONE: PERMANENT},
    ),
    Case(
        "wants both, has only a phone that opted out",
        {"phone": PHONE, "channels": "sms;email"},
        "opted_out",
        "asked for email, has no email address; sms: opted out (sms)",
        opt_outs=["sms"],
    ),
    Case(
        "opted out of its only channel",
        {"phone": PHONE},
        "opted_out",
        "sms: opted out (sms)",
        opt_outs=["sms"],
    ),
    Case(
        "opted out of every channel",
        BOTH,
        "opted_out",
        "sms: opted out (sms); email: opted out (email)",
        opt_outs=["sms", "email"],
    ),
    Case(
        "contact flagged invalid",
        {"phone": PHONE, "phone_invalid": True},
        "invalid_contact",
        "sms: phone number flagged invalid by the provider",
    ),
    Case(
        "every delivery failed",
        BOTH,
        "failed",
        "sms: failed: 30007 carrier filtered; email: failed: 30007 carrier filtered",
        sms={PHONE: PERMANENT},
        email={EMAIL: PERMANENT},
    ),
    Case(
        "undelivered, by a status callback",
        {"phone": PHONE},
        "failed",
        "sms: failed: Twilio 30003: handset unreachable",
        after=_callback("undelivered", "30003"),
    ),
    Case(
        "undelivered, and the callback flagged the number",
        {"phone": PHONE},
        "invalid_contact",
        "sms: phone number flagged invalid by the provider",
        after=_callback("undelivered", "30005"),
    ),
    Case(
        "failed at the provider, with the code in its message",
        {"phone": PHONE},
        "failed",
        "sms: failed: Twilio 30007: filtered by the carrier",
        sms={
            PHONE: ChannelError(
                "Twilio 30007: filtered by the carrier", permanent=True, code="30007"
            )
        },
    ),
    Case(
        "failed, though a later notice is still ahead",
        {"phone": PHONE},
        "failed",
        "sms: failed: 30007 carrier filtered",
        sms={PHONE: PERMANENT},
        notices=[{"due": T0}, {"due": START - timedelta(hours=2), "kind": "reminder"}],
    ),
    Case(
        "retrying after a transient error",
        {"email": EMAIL},
        "not_yet_sent",
        "email: retrying after: 503 Service Unavailable",
        email={EMAIL: TRANSIENT},
    ),
    Case(
        "its notice is not yet due",
        {"phone": PHONE},
        "not_yet_sent",
        "sms: a notice is still to fall due",
        notices=[{"due": T0 + timedelta(days=1)}],
    ),
    Case(
        "one channel failed, the other is still to go",
        BOTH,
        "not_yet_sent",
        "sms: failed: 30007 carrier filtered; email: retrying after: 503 Service Unavailable",
        sms={PHONE: PERMANENT},
        email={EMAIL: TRANSIENT},
    ),
    Case(
        "only a critical-needs notice is ahead",
        {"phone": PHONE},
        "not_targeted",
        "sms: no notice was addressed to it",
        notices=[{"due": T0 + timedelta(days=1), "audience": "critical"}],
    ),
    Case(
        "critical, and the critical-needs notice is ahead",
        {"phone": PHONE, "critical": True},
        "not_yet_sent",
        "sms: a notice is still to fall due",
        notices=[{"due": T0 + timedelta(days=1), "audience": "critical"}],
    ),
    Case(
        "moved in after the notices went out",
        {"phone": PHONE},
        "not_targeted",
        "sms: no notice was addressed to it",
        joins_after_the_runs=True,
    ),
    Case(
        "expired: held for quiet hours past the start",
        {"phone": PHONE},
        "expired",
        "sms: expired unsent (the work had started)",
        notices=[{"due": T0, "sms_due": START + timedelta(hours=1)}],
        runs=[T0, START + timedelta(hours=1)],
        now=START + timedelta(hours=2),
    ),
    Case(
        "sent only after the start",
        {"phone": PHONE},
        "sent_after_start",
        "sms: sent only after the work started",
        notices=[
            {
                "due": START + timedelta(hours=5),
                "kind": "restored",
                "deadline": START + timedelta(days=7),
            }
        ],
        runs=[START + timedelta(hours=5)],
        now=START + timedelta(hours=6),
    ),
    Case(
        "sms channel disabled",
        {"phone": PHONE},
        "channel_disabled",
        "sms: skipped: channel disabled",
        email_enabled_only=True,
    ),
    Case(
        "superseded by a change, nothing replaced it",
        {"phone": PHONE},
        "superseded",
        "sms: superseded by a change",
        after=_reschedule,
    ),
    Case(
        "sms opted out, email failed",
        BOTH,
        "mixed",
        "sms: opted out (sms); email: failed: 30007 carrier filtered",
        opt_outs=["sms"],
        email={EMAIL: PERMANENT},
    ),
]


def _run(db: Database, case: Case) -> Coverage:
    with db.session() as s:
        add_area(s, "W1")
        outage = add_outage(s, start=START)
        for notice in case.notices:
            add_notice(s, outage, **notice)
        for channel in case.opt_outs:
            s.add(
                OptOut(
                    channel=channel, address=PHONE if channel == "sms" else EMAIL, source=channel
                )
            )
        if not case.joins_after_the_runs:
            add_customer(s, "P1", water_area="W1", **case.customer)
    if case.email_enabled_only:
        expand_due(db, case.runs[0], enabled_channels=("email",))
    dispatch_at(db, case.runs, sms=failing(case.sms), email=failing(case.email))
    with db.session() as s:
        if case.joins_after_the_runs:
            add_customer(s, "P1", water_area="W1", **case.customer)
        current = s.get(Outage, outage.id)
        assert current is not None
        if case.after:
            case.after(s, current)
    with db.read() as s:
        current = s.get(Outage, outage.id)
        assert current is not None
        return coverage(s, current, now=case.now)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_why_a_premise_was_not_reached(db: Database, case: Case) -> None:
    result = _run(db, case)
    assert result.affected_premises == 1
    if case.reason is None:
        assert (result.reached, result.door_hangers) == (1, [])
        return
    (hanger,) = result.door_hangers
    assert (result.reached, hanger.reason, hanger.detail) == (0, case.reason, case.detail)
    assert hanger.reason in REASONS


@pytest.mark.parametrize(
    ("customer", "without_contact", "fallback"),
    [
        ({"phone": PHONE, "channels": "sms;email"}, 1, 0),
        ({"phone": PHONE, "channels": "email"}, 0, 1),
        ({"email": EMAIL, "channels": "sms"}, 0, 1),
        ({"phone": PHONE, "email": EMAIL, "channels": "email"}, 0, 0),
        ({"phone": PHONE}, 0, 0),
    ],
)
def test_coverage_counts_channels_asked_for_without_a_contact(
    db: Database, customer: dict[str, Any], without_contact: int, fallback: int
) -> None:
    result = _run(db, Case("drift", customer, None))
    assert (result.channel_without_contact, result.channel_fallback) == (without_contact, fallback)
    assert result.reached == 1


def test_every_reason_is_exercised() -> None:
    assert {c.reason for c in CASES if c.reason} == set(REASONS)


def test_shared_contact_reaches_every_premise_that_has_it(db: Database) -> None:
    with db.session() as s:
        add_area(s, "W1")
        add_customer(s, "P1", phone=PHONE, water_area="W1")
        add_customer(s, "P2", phone=PHONE, water_area="W1")  # the delivery names only P1
        add_customer(s, "P3", phone=PHONE, email=EMAIL, channels="email", water_area="W1")
        outage = add_outage(s, start=START)
        add_notice(s, outage)
    dispatch_at(db, [T0], email=failing({EMAIL: PERMANENT}))
    with db.read() as s:
        result = coverage(s, outage, now=T0)
    # P3 wants email only, and its email failed; but its phone got the SMS: it knows.
    assert (result.affected_premises, result.reached, result.door_hangers) == (3, 3, [])
    assert result.reached_by_channel == {"sms": 3, "email": 0, "voice": 0}


def test_door_hangers_are_written_as_csv_with_every_column(db: Database) -> None:
    from outage_notify.reports.coverage import write_door_hangers

    with db.session() as s:
        add_area(s, "W1")
        add_customer(s, "P1", name="王芳", address="水街 3 号", water_area="W1", critical=True)
        outage = add_outage(s, start=START)
    with db.read() as s:
        result = coverage(s, outage, now=T0)
    stream = io.StringIO()
    assert write_door_hangers(stream, result.door_hangers) == 1
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows == [
        list(DOOR_HANGER_COLUMNS),
        [
            "P1",
            "王芳",
            "水街 3 号",
            "",
            "",
            "true",
            "no_contact",
            "no phone number or email address",
        ],
    ]
