from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from channels.base import ChannelError
from outage_notify.db import Database
from outage_notify.delivery.outbox import expand_due
from outage_notify.delivery.recovery import LEASE, is_orphan, reconcile
from outage_notify.models import Delivery
from tests.engine import PlainComposer, ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customers, add_notice, add_outage

HOST = socket.gethostname()
DEAD = f"{HOST}:999999:deadbeef"


@dataclass
class Sent:
    sid: str
    status: str
    body: str


class LookupChannel(ScriptedChannel):
    """A channel the provider can be asked: which messages went to this number since T?"""

    def __init__(self, at_provider: dict[str, list[Sent]]) -> None:
        super().__init__()
        self.at_provider = at_provider
        self.lookups: list[tuple[str, datetime]] = []

    def lookup(self, address: str, since: datetime) -> list[Sent]:
        self.lookups.append((address, since))
        if address == "down":
            raise ChannelError("503", permanent=False)
        return self.at_provider.get(address, [])


def _crash_mid_fan_out(db: Database, customers: int = 3) -> list[Delivery]:
    """Expand, then leave every SMS `sending` under a process that no longer exists."""
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, customers)
        add_notice(session, add_outage(session))
    expand_due(db, T0)
    with db.session() as session:
        rows = session.exec(select(Delivery).where(Delivery.channel == "sms")).all()
        for row in rows:
            row.state, row.claimed_by, row.claimed_at, row.attempts = "sending", DEAD, T0, 1
    with db.read() as session:
        return list(session.exec(select(Delivery).where(Delivery.channel == "sms")).all())


def _rows(db: Database) -> dict[str, Delivery]:
    with db.read() as session:
        return {
            d.address: d for d in session.exec(select(Delivery).where(Delivery.channel == "sms"))
        }


def test_found_at_the_provider_is_recorded_sent_not_resent(db: Database) -> None:
    rows = _crash_mid_fan_out(db)
    body = f"notice {rows[0].notice_id} (advance)"
    channel = LookupChannel(
        {
            rows[0].address: [
                Sent("SMother", "delivered", "another notice"),
                Sent("SM1", "sent", body),
            ]
        }
    )
    summary = reconcile(
        db, {"sms": channel}, PlainComposer(), now=T0 + timedelta(seconds=30), me="me:1:x"
    )
    assert (summary.found_at_provider, summary.resent, summary.possible_duplicates) == (1, 2, 0)
    got = _rows(db)
    assert (got[rows[0].address].state, got[rows[0].address].provider_id) == ("sent", "SM1")
    assert [got[r.address].state for r in rows[1:]] == ["pending", "pending"]
    assert not any(d.duplicate for d in got.values())
    # the resent ones go on the next pass, once each
    make_dispatcher(db, sms=channel).run_once(T0 + timedelta(seconds=30))
    assert sorted(m.address for m in channel.sent) == sorted(r.address for r in rows[1:])


def test_without_a_lookup_everything_in_flight_is_resent_and_flagged(db: Database) -> None:
    _crash_mid_fan_out(db)
    summary = reconcile(db, {"sms": ScriptedChannel()}, PlainComposer(), now=T0, me="me:1:x")
    assert (summary.resent, summary.possible_duplicates) == (3, 3)
    assert all(d.duplicate and d.state == "pending" for d in _rows(db).values())


def test_a_failed_lookup_leaves_the_delivery_for_later(db: Database) -> None:
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 1, phone="down")
        add_notice(session, add_outage(session))
    expand_due(db, T0)
    with db.session() as session:
        row = session.exec(select(Delivery).where(Delivery.channel == "sms")).one()
        row.state, row.claimed_by, row.claimed_at = "sending", DEAD, T0
    summary = reconcile(db, {"sms": LookupChannel({})}, PlainComposer(), now=T0, me="me:1:x")
    assert summary.lookup_failed == 1
    assert _rows(db)["down"].state == "sending"


@pytest.mark.parametrize(
    ("claimed_by", "age", "alive", "orphan"),
    [
        (f"{HOST}:999999:x", timedelta(0), False, True),  # a dead local process
        (f"{HOST}:4242:x", timedelta(0), True, False),  # a live local process
        (f"{HOST}:{os.getpid()}:other", timedelta(0), True, True),  # an earlier us
        ("elsewhere:1:x", timedelta(0), True, False),  # another machine, within the lease
        ("elsewhere:1:x", LEASE + timedelta(seconds=1), True, True),  # lease ran out
        ("me:1:x", LEASE * 3, True, False),  # our own claim is never an orphan
    ],
)
def test_is_orphan(claimed_by: str, age: timedelta, alive: bool, orphan: bool) -> None:
    assert is_orphan(claimed_by, T0 - age, T0, me="me:1:x", alive=lambda pid: alive) is orphan


def test_a_live_claim_is_left_alone(db: Database) -> None:
    _crash_mid_fan_out(db)
    summary = reconcile(
        db, {"sms": ScriptedChannel()}, PlainComposer(), now=T0, me="me:1:x", alive=lambda pid: True
    )
    assert summary.resent == 0
    assert {d.state for d in _rows(db).values()} == {"sending"}
