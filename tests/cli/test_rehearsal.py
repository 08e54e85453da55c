"""A rehearsal clock only reads: ``--now`` on `dispatch --once` and `sources poll` needs
``--dry-run`` (docs/decisions/0021-a-rehearsal-clock-only-reads.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from outage_notify.db import Database
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.factories import add_customer
from tests.planning.sources.feed_server import FeedServer, running
from tests.planning.sources.support import RSS

AT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # Tue 1 Dec 08:00 local: the commands' clock
ADVANCE_DUE = "2026-12-07T08:00"  # 72 hours before the work


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running()


@pytest.fixture
def planned(db: Database, run_cli: Callable[..., Any], feed_server: FeedServer) -> Database:
    """Two customers, one outage on Thu 10 Dec, and a source whose feed has three entries."""
    make_city(db)
    with db.session() as session:
        add_customer(session, "A", phone="+8613800000001", water_area="W01")
        add_customer(session, "B", phone="+8613800000002", email="b@example.org", water_area="W01")
    add = "outages add --utility water --start 2026-12-10T08:00 --end 2026-12-10T12:00"
    added = run_cli(*add.split(), "--area", "W01", "--title", "Main", now=AT)
    assert added.exit_code == 0, added.output
    url = feed_server.serve("/planned.rss", RSS, etag='"1"')
    assert run_cli("sources", "add", "city", url, "--format", "rss").exit_code == 0
    return db


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what "nothing written" is checked against."""
    with db.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


REFUSED = [
    ("dispatch", "--once", "--now", ADVANCE_DUE),
    ("dispatch", "--once", "--json", "--now", ADVANCE_DUE),
    ("sources", "poll", "--now", ADVANCE_DUE),
    ("sources", "poll", "city", "--json", "--now", ADVANCE_DUE),
]


@pytest.mark.parametrize("args", REFUSED, ids=[" ".join(a[:3]) for a in REFUSED])
def test_now_without_dry_run_is_refused_and_writes_nothing(
    planned: Database, run_cli: Callable[..., Any], settings: Settings, args: tuple[str, ...]
) -> None:
    before = snapshot(planned)
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0, result.output  # one line
    assert "--now is for rehearsals" in result.output
    assert "needs --dry-run" in result.output
    assert snapshot(planned) == before
    assert not Path(settings.sms.file_path).exists()  # nothing sent either


def test_dispatch_dry_run_shows_what_would_be_sent_and_writes_nothing(
    planned: Database, run_cli: Callable[..., Any], settings: Settings
) -> None:
    before = snapshot(planned)
    result = run_cli("dispatch", "--once", "--dry-run", "--now", ADVANCE_DUE, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["dry_run"] is True
    # The critical-needs notice (a week ahead, late by now, and nobody is critical) and the
    # 72-hour advance notice to everyone.
    critical, advance = data["notices"]
    assert (critical["audience"], critical["late"], critical["recipients"]) == (
        "critical",
        True,
        {},
    )
    assert (advance["kind"], advance["audience"], advance["fate"]) == ("advance", "all", "expanded")
    assert advance["recipients"] == {"sms": 2, "email": 1}
    text = run_cli("dispatch", "--once", "--dry-run", "--now", ADVANCE_DUE).output
    assert text.startswith("Dry run at 2026-12-07 08:00 +08:00, nothing written or sent:")
    assert "(advance, outage #1, due 2026-12-03 08:00 +08:00, late): nobody" in text
    assert "(advance, outage #1, due 2026-12-07 08:00 +08:00): sms 2, email 1" in text
    # After the work started, the same notice would expire unsent.
    late = run_cli("dispatch", "--once", "--dry-run", "--now", "2026-12-10T09:00").output
    assert "expired, would not be sent" in late
    assert snapshot(planned) == before
    assert not Path(settings.sms.file_path).exists()


def test_dispatch_dry_run_without_now_rehearses_the_current_time(
    planned: Database, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("dispatch", "--once", "--dry-run", now=AT)
    assert result.exit_code == 0, result.output
    assert "no notice falls due" in result.output


def test_poll_dry_run_shows_what_would_change_and_writes_nothing(
    planned: Database, run_cli: Callable[..., Any]
) -> None:
    before = snapshot(planned)
    result = run_cli("sources", "poll", "city", "--dry-run", "--now", "2026-12-01T08:00")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Dry run, nothing written:")
    assert "city: 3 entries: created 2, changed 0, cancelled 0, held 1" in result.output
    data = json.loads(run_cli("sources", "poll", "--dry-run", "--json", now=AT).output)
    assert (data[0]["dry_run"], len(data[0]["created"])) == (True, 2)
    assert snapshot(planned) == before  # no outage, and the source was never polled
    real = run_cli("sources", "poll", "city", now=AT)
    assert "created 2" in real.output
    assert snapshot(planned) != before
