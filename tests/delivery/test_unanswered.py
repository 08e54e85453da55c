"""A send that timed out and whose lookup failed too is never resent blindly: it stays
``sending`` (unanswered) and is looked up again until the provider answers or the deadline
forces a decision; a resend without an answer is flagged as a possible duplicate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from channels.base import ChannelError, DeliveryResult, Message
from outage_notify.db import Database
from outage_notify.delivery.recovery import reconcile
from outage_notify.delivery.unanswered import LOOK_AGAIN_AFTER, UNANSWERED
from outage_notify.models import Delivery
from outage_notify.reports.outage_report import outage_report
from tests.engine import PlainComposer, ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customers, add_notice, add_outage

DEADLINE = T0 + timedelta(days=2)  # the factories' outage starts two days after T0


@dataclass
class Held:
    sid: str
    status: str
    body: str


class StormChannel(ScriptedChannel):
    """Twilio in a storm: every send is accepted but answered too late (a timeout), and the
    lookup answers 429 while ``lookup_down`` is set."""

    def __init__(self) -> None:
        super().__init__(self._accept_late)
        self.held: dict[str, list[Held]] = {}
        self.lookup_down = True
        self.lookups = 0

    def _accept_late(self, message: Message) -> DeliveryResult | None:
        self.held.setdefault(message.address, []).append(
            Held(f"SM{message.delivery_id}-{len(self.attempts)}", "queued", message.text)
        )
        raise ChannelError("Twilio did not answer in time", permanent=False, code="timeout")

    def lookup(self, address: str, since: datetime) -> list[Held]:
        self.lookups += 1
        if self.lookup_down:
            raise ChannelError("Twilio 20429: too many requests", permanent=False, code="20429")
        return list(self.held.get(address, []))


def plan(db: Database, customers: int = 2) -> int:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, customers)
        outage = add_outage(session)
        add_notice(session, outage)
        assert outage.id is not None
        return outage.id


def sms_rows(db: Database) -> list[Delivery]:
    with db.read() as session:
        query = select(Delivery).where(Delivery.channel == "sms").order_by(col(Delivery.id))
        return list(session.exec(query).all())


def recover(db: Database, channel: StormChannel, now: datetime) -> None:
    reconcile(db, {"sms": channel}, PlainComposer(), now=now, me="me")


def test_a_timeout_whose_lookup_fails_is_kept_for_a_later_lookup_not_resent(
    db: Database,
) -> None:
    plan(db)
    channel = StormChannel()
    dispatcher = make_dispatcher(db, sms=channel)
    summary = dispatcher.run_once(T0)
    assert summary.results["sms/unanswered"] == 2
    rows = sms_rows(db)
    assert {(r.state, r.claimed_by) for r in rows} == {("sending", UNANSWERED)}
    assert {r.next_attempt_at for r in rows} == {T0 + LOOK_AGAIN_AFTER}
    # Later passes send nothing again; recovery before the time asks nothing.
    dispatcher.run_once(T0 + timedelta(seconds=30))
    recover(db, channel, T0 + timedelta(seconds=30))
    assert (len(channel.attempts), channel.lookups) == (2, 2)
    # Still no answer at the time: asked again, later.
    recover(db, channel, T0 + LOOK_AGAIN_AFTER)
    assert channel.lookups == 4
    assert {r.next_attempt_at for r in sms_rows(db)} == {T0 + 2 * LOOK_AGAIN_AFTER}
    # The provider answers: it had them all along.
    channel.lookup_down = False
    recover(db, channel, T0 + 2 * LOOK_AGAIN_AFTER)
    dispatcher.run_once(T0 + 3 * LOOK_AGAIN_AFTER)
    assert len(channel.attempts) == 2  # every number reached exactly once
    after = sms_rows(db)
    assert {r.state for r in after} == {"sent"}
    assert {r.provider_id for r in after} == {h.sid for held in channel.held.values() for h in held}
    assert not any(r.duplicate for r in after)


def test_when_the_provider_answers_it_has_nothing_the_message_is_sent_again(
    db: Database,
) -> None:
    plan(db, customers=1)
    channel = StormChannel()
    dispatcher = make_dispatcher(db, sms=channel)
    dispatcher.run_once(T0)
    channel.held.clear()  # the timed-out request never reached Twilio after all
    channel.lookup_down = False
    channel.script = None  # and sends work again
    recover(db, channel, T0 + LOOK_AGAIN_AFTER)
    [row] = sms_rows(db)
    assert (row.state, row.duplicate) == ("pending", False)
    dispatcher.run_once(T0 + LOOK_AGAIN_AFTER)
    [row] = sms_rows(db)
    assert (row.state, row.duplicate, len(channel.attempts)) == ("sent", False, 2)


def test_the_deadline_forces_a_resend_flagged_as_a_possible_duplicate(db: Database) -> None:
    outage_id = plan(db, customers=1)
    channel = StormChannel()
    dispatcher = make_dispatcher(db, sms=channel)
    dispatcher.run_once(T0)
    near = DEADLINE - LOOK_AGAIN_AFTER / 2  # the next lookup would come after the work start
    recover(db, channel, near)
    [row] = sms_rows(db)
    assert (row.state, row.duplicate, row.claimed_by) == ("pending", True, None)
    assert "may go twice" in (row.error or "")
    channel.script = None
    dispatcher.run_once(near)
    [row] = sms_rows(db)
    assert (row.state, row.duplicate) == ("sent", True)
    with db.read() as session:
        report = outage_report(session, outage_id, now=near)
    assert report.duplicate_counts["sms"] == 1


def test_past_the_deadline_without_an_answer_it_expires(db: Database) -> None:
    plan(db, customers=1)
    channel = StormChannel()
    make_dispatcher(db, sms=channel).run_once(T0)
    recover(db, channel, DEADLINE + timedelta(minutes=5))  # the daemon was down meanwhile
    [row] = sms_rows(db)
    assert (row.state, row.duplicate) == ("expired", False)
    assert len(channel.attempts) == 1


def test_a_timeout_right_before_the_deadline_is_decided_at_the_next_lookup(
    db: Database,
) -> None:
    plan(db, customers=1)
    channel = StormChannel()
    dispatcher = make_dispatcher(db, sms=channel)
    now = DEADLINE - timedelta(seconds=40)
    dispatcher.run_once(now)
    [row] = sms_rows(db)
    assert (row.state, row.claimed_by, row.next_attempt_at) == ("sending", UNANSWERED, now)
    recover(db, channel, now + timedelta(seconds=15))  # the next tick
    [row] = sms_rows(db)
    assert (row.state, row.duplicate) == ("pending", True)
    # The forced resend times out too, with no answer: never a third send; it expires.
    dispatcher.run_once(now + timedelta(seconds=15))
    recover(db, channel, now + timedelta(seconds=30))
    recover(db, channel, DEADLINE)
    [row] = sms_rows(db)
    assert (row.state, row.duplicate, len(channel.attempts)) == ("expired", True, 2)
