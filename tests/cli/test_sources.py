from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from outage_notify.db import Database
from tests.builders import make_city
from tests.planning.sources.feed_server import FeedServer, running
from tests.planning.sources.support import RSS

NOW = "2026-12-01T08:00"
AT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # NOW, as the commands' clock (approve changes data)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running()


@pytest.fixture
def city(db: Database) -> Database:
    make_city(db)
    return db


def test_sources_add_poll_list_remove(
    city: Database, run_cli: Callable[..., Any], feed_server: FeedServer
) -> None:
    url = feed_server.serve("/planned.rss", RSS, etag='"1"')
    added = run_cli("sources", "add", "city", url, "--format", "rss", "--every", "10m")
    assert added.exit_code == 0, added.output
    assert "untrusted: outages wait for review" in added.output

    polled = run_cli("sources", "poll", "city", now=AT)
    assert polled.exit_code == 0, polled.output
    assert "city: 3 entries: created 2, changed 0, cancelled 0, held 1" in polled.output

    listed = run_cli("sources", "list")
    assert "last poll 2026-12-01 08:00: ok  entries 3  held 1" in listed.output
    assert "WO-2026-11950: held" in listed.output
    assert "no start time" in listed.output
    data = json.loads(run_cli("sources", "list", "--json").output)
    assert data[0]["every_seconds"] == 600
    assert data[0]["trusted"] is False

    # The review state shows in `outages list`; approving one plans its notices.
    outages = json.loads(run_cli("outages", "list", "--json").output)
    assert {o["status"] for o in outages} == {"review"}
    assert run_cli("outages", "list", "--status", "review").exit_code == 0
    approved = run_cli("outages", "approve", str(outages[0]["id"]), "--json", now=AT)
    assert approved.exit_code == 0, approved.output
    result = json.loads(approved.output)
    assert result["status"] == "planned"
    assert result["notices_added"]
    again = run_cli("outages", "approve", str(outages[0]["id"]), now=AT)
    assert again.exit_code == 1
    assert "not waiting for review" in again.output

    removed = run_cli("sources", "remove", "city")
    assert removed.exit_code == 0
    assert "No sources." in run_cli("sources", "list").output
    assert len(json.loads(run_cli("outages", "list", "--json").output)) == 2


def test_a_failed_poll_exits_1_saying_why(
    city: Database, run_cli: Callable[..., Any], feed_server: FeedServer
) -> None:
    run_cli("sources", "add", "gone", feed_server.url("/nothing"), "--format", "rss")
    result = run_cli("sources", "poll", "--json", now=AT)
    assert result.exit_code == 1
    assert "source gone failed:" in result.output
    assert "answered HTTP 404 Not Found" in result.output
    assert "error: " in run_cli("sources", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Name", "http://x.example/f", "--format", "rss"], "the name must be"),
        (["ok", "ftp://x.example/f", "--format", "rss"], "is not an http(s) URL"),
        (["ok", "http://x.example/f", "--format", "rss", "--area", "W01"], "needs --utility"),
        (
            ["ok", "http://x.example/f", "--format", "rss", "--utility", "gas", "--area", "W01"],
            "area W01 is a water area, not gas",
        ),
        (["ok", "http://x.example/f", "--format", "rss", "--every", "10s"], "at least 1m"),
    ],
)
def test_sources_add_rejects_bad_input(
    city: Database, run_cli: Callable[..., Any], args: list[str], message: str
) -> None:
    result = run_cli("sources", "add", *args)
    assert result.exit_code == 1
    assert message in result.output
