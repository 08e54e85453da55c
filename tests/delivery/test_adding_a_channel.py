"""Adding a channel is one channel class and one registry descriptor (CONTRIBUTING.md).

A made-up "pager" channel that reads the customers' phone numbers is registered here and an
outage's notice goes through the whole engine: planned, expanded, dispatched, recorded,
counted in the outage report. Nothing else in the core is told about it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from channels.base import DeliveryResult, Message
from outage_notify.db import Database
from outage_notify.delivery.engine import build_engine
from outage_notify.models import Customer, Delivery, DeliveryState
from outage_notify.planning import outages
from outage_notify.planning.outages import OutageDraft
from outage_notify.registry import ChannelSpec, registered
from outage_notify.reports.outage_report import outage_report
from outage_notify.settings import Settings
from tests.builders import make_city

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


class InMemoryPager:
    """Step 1 of the checklist: the channel (here in memory; a real one is channels/<name>.py)."""

    name: ClassVar[str] = "pager"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> DeliveryResult:
        with self.lock:
            self.sent.append(message)
        return DeliveryResult(provider_id=f"page-{message.delivery_id}")

    def close(self) -> None:
        pass


@pytest.fixture
def pager() -> Iterator[InMemoryPager]:
    channel = InMemoryPager()
    # Step 2: one descriptor. The message is the notice's short text (templates/sms/).
    spec = ChannelSpec(
        name="pager",
        contact="phone",
        invalid_flag="phone_invalid",
        contact_words="pager number",
        build=lambda settings, **_: channel,
        enabled=lambda settings: True,
        max_per_second=lambda settings: 1_000.0,
        concurrency=lambda settings: 1,
        message="text",
        body_maxlen=240,
    )
    with registered(spec):
        yield channel


def test_a_registered_channel_gets_the_notice_through_the_whole_engine(
    db: Database, settings: Settings, pager: InMemoryPager
) -> None:
    make_city(db)
    with db.session() as session:
        session.add(
            Customer(account_id="c1", language="en", water_area="W01", phone="+8613800000001")
        )
        session.add(
            Customer(account_id="c2", language="en", water_area="W01", email="c2@example.org")
        )
        outage = outages.plan_outage(
            session,
            OutageDraft(
                utility="water",
                title="Main replacement",
                start=at("12-10 10:00"),
                end=at("12-10 14:00"),
                areas=["W01"],
            ),
            settings=settings,
            now=at("12-01 09:00"),
            actor="planner",
        )
        outage_id = outage.id
    assert outage_id is not None

    engine = build_engine(db, settings)
    assert set(engine.channels) == {"sms", "email", "pager"}
    summary = engine.dispatcher.run_once(at("12-07 10:00"))
    engine.close()

    assert summary.results["pager/sent"] == 1
    assert [m.address for m in pager.sent] == ["+8613800000001"]
    assert "planned water shutoff" in pager.sent[0].text  # the SMS text of the notice
    with db.read() as session:
        rows = session.exec(select(Delivery).where(Delivery.channel == "pager")).all()
        assert [(r.state, r.provider_id) for r in rows] == [
            (DeliveryState.SENT, f"page-{rows[0].id}")
        ]
        report = outage_report(session, outage_id, now=at("12-07 10:05"))
    assert report.deliveries["pager"][DeliveryState.SENT] == 1
    assert report.deliveries["sms"][DeliveryState.DELIVERED] == 1  # the file backend
    assert report.coverage.reached_by_channel["pager"] == 1
