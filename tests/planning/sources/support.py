"""Helpers shared by the sources tests."""

from __future__ import annotations

from datetime import UTC, datetime

from outage_notify.db import Database
from outage_notify.planning.sources import records
from outage_notify.planning.sources.poll import PollResult, poll_source
from outage_notify.settings import Settings
from tests.planning.sources.feed_server import sample

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
RSS = sample("planned-works.rss")


def add_source(
    db: Database,
    name: str,
    url: str,
    fmt: str,
    *,
    trusted: bool = True,
    utility: str | None = None,
    areas: tuple[str, ...] = (),
) -> None:
    with db.session() as session:
        records.add_source(
            session,
            name=name,
            url=url,
            fmt=fmt,
            utility=utility,
            areas=areas,
            trusted=trusted,
            every="5m",
            actor="test",
        )


def poll(db: Database, settings: Settings, name: str, now: datetime = NOW) -> PollResult:
    return poll_source(db, settings, name, now=now)
