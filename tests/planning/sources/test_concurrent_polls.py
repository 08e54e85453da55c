"""Two daemons (or a daemon and a planner's `sources poll`) polling one source at once on
PostgreSQL make one outage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import Notice, Outage, OutageRevision
from outage_notify.planning.sources.fetch import Fetched, fetch
from outage_notify.planning.sources.poll import PollResult, claim_due, poll_due, poll_source
from outage_notify.settings import Settings, load_settings
from tests.builders import make_city
from tests.conftest import base_config, write_config
from tests.planning.sources.feed_server import FeedServer
from tests.planning.sources.support import NOW, RSS, add_source

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.dispose()


@pytest.fixture
def pg_settings(tmp_path: Path, postgres_url: str) -> Settings:
    return load_settings(
        write_config(tmp_path / "outage-notify.toml", base_config(tmp_path, postgres_url)),
        environ={},
    )


def test_two_pollers_of_one_source_make_one_outage(
    pg: Database, pg_settings: Settings, feed_server: FeedServer
) -> None:
    make_city(pg)
    add_source(pg, "city", feed_server.serve("/feed", RSS), "rss")
    both_fetched = threading.Barrier(2, timeout=10)

    def fetch_then_wait(url: str, **kwargs: object) -> Fetched:
        fetched = fetch(url, **kwargs)  # type: ignore[arg-type]
        both_fetched.wait()  # both have the document before either applies it
        return fetched

    results: list[PollResult] = []

    def poller() -> None:
        results.append(poll_source(pg, pg_settings, "city", now=NOW, fetcher=fetch_then_wait))

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(r.status for r in results) == ["ok", "ok"]
    assert sorted(len(r.applied.created) for r in results) == [0, 2]
    (dropped,) = [r for r in results if not r.applied.created]
    assert "its copy was dropped" in dropped.applied.notes[0]
    with pg.read() as session:
        assert len(session.exec(select(Outage)).all()) == 2
        assert len(session.exec(select(OutageRevision)).all()) == 2
        notices = session.exec(select(Notice)).all()
    assert len({(n.outage_id, n.kind, n.audience, n.due_at) for n in notices}) == len(notices)


def test_two_daemons_claim_a_due_source_once(
    pg: Database, pg_settings: Settings, feed_server: FeedServer
) -> None:
    make_city(pg)
    add_source(pg, "city", feed_server.serve("/feed", RSS), "rss")
    start = threading.Barrier(2, timeout=10)
    claimed: list[list[str]] = []

    def daemon() -> None:
        start.wait()
        claimed.append(claim_due(pg, now=NOW))

    threads = [threading.Thread(target=daemon) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == [[], ["city"]]
    assert poll_due(pg, pg_settings, now=NOW) == []  # not due again until the interval passes
