"""Claims in two steps: a batch reserved, a delivery marked sending only when a sender takes it.

A reservation is not in flight: whatever a batch holds, at most ``concurrency`` deliveries
are ever ``sending``, and what a crash leaves reserved is pending for anyone again.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

from sqlmodel import col, func, select, update

from channels.base import DeliveryResult, Message
from outage_notify.db import Database
from outage_notify.delivery import fanout
from outage_notify.delivery.outbox import expand_due
from outage_notify.delivery.recovery import LEASE, reconcile
from outage_notify.delivery.reservations import Reservations
from outage_notify.models import Delivery, OptOut
from tests.engine import PlainComposer, ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customers, add_notice, add_outage

DEAD = f"{socket.gethostname()}:999999:deadbeef"
ELSEWHERE = "another-host:42:cafe"  # a live process on another machine, as far as we can tell


def _plan(db: Database, customers: int) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, customers, email=None)
        add_notice(session, add_outage(session))
    expand_due(db, T0)


def _count(db: Database, *where: object) -> int:
    with db.read() as session:
        return int(session.exec(select(func.count()).select_from(Delivery).where(*where)).one())


def _reserve(db: Database, worker: str, k: int, now: object = T0) -> list[int]:
    reservations = Reservations(worker, skip_locked=not db.is_sqlite)
    with db.engine.begin() as connection:
        return [c.id for c in reservations.reserve(connection, "sms", now, k)]  # type: ignore[arg-type]


def test_a_batch_reserved_ahead_never_puts_more_than_the_concurrency_in_flight(
    db: Database,
) -> None:
    _plan(db, 60)
    concurrency = 3
    seen: list[tuple[int, int]] = []  # (sending, reserved) as each send begins
    lock = threading.Lock()

    def look(message: Message) -> DeliveryResult:
        sending = _count(db, col(Delivery.state) == "sending")
        reserved = _count(
            db, col(Delivery.state) == "pending", col(Delivery.claimed_by).is_not(None)
        )
        with lock:
            seen.append((sending, reserved))
        return DeliveryResult(provider_id=f"P{message.delivery_id}")

    summary = make_dispatcher(db, sms=ScriptedChannel(look), concurrency=concurrency).run_once(T0)
    assert summary.results["sms/sent"] == 60
    assert max(sending for sending, _ in seen) <= concurrency
    # The batches were larger than the window: reserved ahead, not marked.
    assert max(reserved for _, reserved in seen) > concurrency
    # Nothing is left reserved once the pass ends.
    assert _count(db, col(Delivery.claimed_by).is_not(None), col(Delivery.state) == "pending") == 0


def test_a_pass_that_stops_gives_its_reservations_back(db: Database) -> None:
    _plan(db, 40)
    dispatcher = make_dispatcher(db, sms=ScriptedChannel(), concurrency=2)
    sent: list[int] = []

    def stop_after_two(message: Message) -> DeliveryResult:
        sent.append(message.delivery_id)
        if len(sent) == 2:
            dispatcher.stop.set()  # SIGTERM mid fan-out
        return DeliveryResult(provider_id=f"P{message.delivery_id}")

    dispatcher.channels["sms"] = ScriptedChannel(stop_after_two)
    dispatcher.run_once(T0)
    assert 2 <= _count(db, col(Delivery.state) == "sent") < 40
    assert _count(db, col(Delivery.state) == "sending") == 0
    pending = col(Delivery.state) == "pending"
    assert _count(db, pending, col(Delivery.claimed_by).is_not(None)) == 0
    assert _count(db, pending, col(Delivery.attempts) == 0) == _count(db, pending)


def test_what_a_dead_process_reserved_is_given_back_and_sent_once(db: Database) -> None:
    _plan(db, 12)
    assert len(_reserve(db, DEAD, 8)) == 8
    assert _count(db, col(Delivery.state) == "sending") == 0  # reserved is not in flight
    # While the dead process's reservation stands, another process reserves only the rest.
    assert len(_reserve(db, "me:1:x", 100)) == 4
    with db.session() as session:
        session.execute(
            update(Delivery).where(col(Delivery.claimed_by) == "me:1:x").values(claimed_by=None)
        )

    summary = reconcile(db, {}, PlainComposer(), now=T0, me="me:1:x", alive=lambda pid: False)
    assert summary.reservations_released == 8
    assert summary.resent == summary.possible_duplicates == 0  # nothing to look up or flag
    sms = ScriptedChannel()
    assert make_dispatcher(db, sms=sms).run_once(T0).results["sms/sent"] == 12
    assert sorted(m.delivery_id for m in sms.attempts) == sorted(
        set(m.delivery_id for m in sms.attempts)
    )
    assert _count(db, col(Delivery.duplicate).is_(True)) == 0


def test_another_machines_reservation_is_trusted_until_its_lease_runs_out(db: Database) -> None:
    _plan(db, 5)
    assert len(_reserve(db, ELSEWHERE, 5)) == 5
    summary = reconcile(db, {}, PlainComposer(), now=T0, me="me:1:x")
    assert summary.reservations_released == 0
    assert _reserve(db, "me:1:x", 5, T0 + LEASE / 2) == []
    later = T0 + LEASE + timedelta(seconds=1)  # that process is gone or stuck: take it over
    assert len(_reserve(db, "me:1:x", 5, later)) == 5


def test_a_delivery_superseded_while_reserved_is_not_sent(db: Database) -> None:
    _plan(db, 10)
    late = "+8613800000008"

    def outage_changes(message: Message) -> DeliveryResult:
        if message.delivery_id == 1:  # a planner reschedules while the batch is reserved
            with db.session() as session:
                session.execute(
                    update(Delivery)
                    .where(col(Delivery.address) == late, col(Delivery.state) == "pending")
                    .values(state="superseded")
                )
        return DeliveryResult(provider_id=f"P{message.delivery_id}")

    sms = ScriptedChannel(outage_changes)
    summary = make_dispatcher(db, sms=sms, concurrency=1).run_once(T0)
    assert late not in [m.address for m in sms.attempts]
    assert summary.results["sms/sent"] == 9
    with db.read() as session:
        row = session.exec(select(Delivery).where(col(Delivery.address) == late)).one()
    assert (row.state, row.attempts) == ("superseded", 0)


def test_the_batch_follows_the_pace_and_the_cap() -> None:
    assert fanout.batch_size(4, 0, 0.0, 5.0) == 8  # nothing measured yet: two rounds a sender
    assert fanout.batch_size(4, 10_000, 10.0, 5.0) == 8  # 1,000/s possible, capped at 5/s
    assert fanout.batch_size(8, 3_000, 10.0, 1e6) == 300  # a second at the senders' pace
    assert fanout.batch_size(8, 10_000, 1.0, 1e6) == fanout.MAX_RESERVE


def test_a_batch_that_is_all_skipped_does_not_end_the_pass(db: Database) -> None:
    _plan(db, 10)
    with db.session() as session:  # STOPs since expansion, for the first batches' addresses
        for i in range(8):
            session.add(OptOut(channel="sms", address=f"+86138{i:08d}", source="sms"))
    summary = make_dispatcher(db, sms=ScriptedChannel(), concurrency=2).run_once(T0)
    assert (summary.results["sms/skipped"], summary.results["sms/sent"]) == (8, 2)
