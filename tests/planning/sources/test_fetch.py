from __future__ import annotations

import socket

import pytest

from outage_notify.planning.sources.fetch import FeedError, fetch
from tests.planning.sources.feed_server import FeedServer


def test_our_own_conditional_headers_go_back_to_the_publisher(feed_server: FeedServer) -> None:
    stamp = "Tue, 01 Dec 2026 00:00:00 GMT"
    url = feed_server.serve("/f", b"<rss/>", etag='W/"abc"', last_modified=stamp)
    first = fetch(url)
    assert (first.not_modified, first.body, first.etag, first.last_modified) == (
        False,
        b"<rss/>",
        'W/"abc"',
        stamp,
    )
    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified
    assert (second.etag, second.last_modified) == ('W/"abc"', stamp)
    seen = feed_server.requests[-1]
    assert (seen.if_none_match, seen.if_modified_since) == ('W/"abc"', stamp)


def test_nobody_listening_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FeedError, match=f"could not connect to http://127.0.0.1:{port}/f"):
        fetch(f"http://127.0.0.1:{port}/f")


def test_a_slow_drip_is_cut_at_the_deadline(feed_server: FeedServer) -> None:
    url = feed_server.serve("/f", b"", endless=True)
    ticks = iter(range(1000))
    with pytest.raises(FeedError, match="took more than 10 s"):
        fetch(url, clock=lambda: float(next(ticks) * 5))
