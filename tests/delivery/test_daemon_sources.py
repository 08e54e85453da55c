"""The daemon polls the upstream sources on their interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.delivery.daemon import Daemon
from outage_notify.models import Outage, Source
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.delivery.test_daemon import Clock
from tests.engine import PlainComposer, ScriptedChannel
from tests.planning.sources.feed_server import FeedServer, running
from tests.planning.sources.support import NOW, RSS, add_source


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running()


def test_the_daemon_polls_each_source_on_its_interval(
    settings: Settings, db: Database, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "city", feed_server.serve("/planned.rss", RSS, etag='"1"'), "rss")
    clock = Clock(NOW)
    daemon = Daemon(
        settings, db, channels={"sms": ScriptedChannel()}, composer=PlainComposer(), clock=clock
    )

    daemon.poll_sources()
    with db.read() as session:
        assert len(session.exec(select(Outage)).all()) == 2
    assert len(feed_server.requests) == 1

    clock.now = NOW + timedelta(minutes=4)
    daemon.poll_sources()
    assert len(feed_server.requests) == 1  # not due yet

    clock.now = NOW + timedelta(minutes=5)
    daemon.poll_sources()
    assert len(feed_server.requests) == 2
    assert feed_server.requests[-1].if_none_match == '"1"'
    with db.read() as session:
        source = session.exec(select(Source)).one()
    assert source.last_status == "not_modified"
    assert source.next_poll_at == NOW + timedelta(minutes=10)
