"""A bad feed is an error recorded on its source, with nothing half-written, and the other
sources keep polling."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import Outage, Source, SourceEntry
from outage_notify.planning.sources.fetch import fetch
from outage_notify.planning.sources.poll import poll_due, poll_source
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.planning.sources.feed_server import FeedServer, sample
from tests.planning.sources.support import NOW, RSS, add_source

# A short timeout for the hanging publisher: the test waits this long, once.
quick_fetch = functools.partial(fetch, timeout=0.5)

FIFTY_MB = 50 * 1024 * 1024
BAD_FEEDS: list[tuple[str, dict[str, Any], str]] = [
    (
        "html error page",
        {"body": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"},
        "not an RSS or Atom feed (it is an HTML page)",
    ),
    (
        "malformed xml",
        {"body": RSS.replace(b"</item>", b"</itme>", 1)},
        "the feed is not well-formed XML",
    ),
    ("404", {"missing": True}, "answered HTTP 404 Not Found"),
    ("timeout", {"body": b"", "hang": True}, "no answer from"),
    ("50 MB declared", {"body": b"x", "declared_length": FIFTY_MB}, "sent 50 MB, more than"),
    ("50 MB streamed", {"body": b"", "endless": True}, "sent more than the 5 MB"),
    ("empty body", {"body": b""}, "not an RSS or Atom feed (the body is empty)"),
    ("atom for rss", {"body": sample("planned-works.atom")}, "registered as rss"),
]


@pytest.mark.parametrize(("case", "document", "message"), BAD_FEEDS, ids=[c[0] for c in BAD_FEEDS])
def test_a_bad_feed_is_an_error_on_the_source_and_writes_nothing(
    db: Database,
    settings: Settings,
    feed_server: FeedServer,
    case: str,
    document: dict[str, Any],
    message: str,
) -> None:
    make_city(db)
    url = feed_server.url("/feed")
    values = dict(document)
    if not values.pop("missing", False):
        feed_server.serve("/feed", **values)
    add_source(db, "bad", url, "rss")

    result = poll_source(db, settings, "bad", now=NOW, fetcher=quick_fetch)

    assert result.status == "error"
    assert message in (result.error or "")
    with db.read() as session:
        source = session.exec(select(Source)).one()
        assert source.last_status == "error"
        assert message in (source.last_error or "")
        assert source.next_poll_at == NOW + timedelta(minutes=5)
        assert session.exec(select(Outage)).all() == []
        assert session.exec(select(SourceEntry)).all() == []


def test_a_bad_feed_after_a_good_one_leaves_the_good_one_as_it_was(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "city", feed_server.serve("/feed", RSS, etag='"v1"'), "rss")
    assert poll_source(db, settings, "city", now=NOW).status == "ok"
    feed_server.serve("/feed", RSS.replace(b"</channel>", b""), etag='"v2"')

    result = poll_source(db, settings, "city", now=NOW + timedelta(minutes=5))

    assert result.status == "error"
    with db.read() as session:
        source = session.exec(select(Source)).one()
        entries = session.exec(select(SourceEntry)).all()
    assert source.etag == '"v1"'  # the next poll fetches the whole feed again
    assert source.entries_seen == 3
    assert all(e.vanished_at is None for e in entries)


def test_one_bad_source_does_not_stop_the_others(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "broken", feed_server.url("/gone"), "rss")
    add_source(db, "city", feed_server.serve("/feed", RSS), "rss")
    add_source(db, "slow", feed_server.serve("/slow", b"", hang=True), "rss")

    results = {r.source: r for r in poll_due(db, settings, now=NOW, fetcher=quick_fetch)}

    assert {name: r.status for name, r in results.items()} == {
        "broken": "error",
        "city": "ok",
        "slow": "error",
    }
    assert len(results["city"].applied.created) == 2
    # Claimed for this interval: polling again at once polls nothing.
    assert poll_due(db, settings, now=NOW + timedelta(seconds=30), fetcher=quick_fetch) == []
