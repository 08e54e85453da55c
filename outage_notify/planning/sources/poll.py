"""Polling: one source now (``sources poll``), or every source that is due (the daemon).

A poll fetches outside any transaction, parses, then applies every entry in one transaction
that holds the source's row lock: two pollers of one source queue there, and the second sees
that the first was applied since it started (``Source.polls`` moved) and drops its copy, which
may be older than the one applied. A fetch or parse failure is recorded on the
source (its last status and message) and nothing else is written; the next poll is the retry.
Daemons claim due sources with a conditional UPDATE, so each interval polls a source once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from outage_notify.db import Database
from outage_notify.models import Source
from outage_notify.planning.sources import cap, rss
from outage_notify.planning.sources.apply import Applied, apply_entries
from outage_notify.planning.sources.entries import MappedEntry
from outage_notify.planning.sources.fetch import FeedError, Fetched, fetch
from outage_notify.planning.sources.records import get_source
from outage_notify.settings import Settings

log = logging.getLogger(__name__)

Fetcher = Callable[..., Fetched]
MAX_ALERTS = 200  # alerts read from one CAP index per poll


@dataclass
class PollResult:
    source: str
    status: str  # ok | not_modified | error
    error: str | None = None
    entries: int = 0
    applied: Applied = field(default_factory=Applied)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "error": self.error,
            "entries": self.entries,
            **self.applied.as_dict(),
        }


def read_entries(
    source: Source,
    body: bytes,
    settings: Settings,
    *,
    fetcher: Fetcher,
    http: requests.Session | None,
) -> tuple[list[MappedEntry], list[str]]:
    """The document's entries (and notes) as the source's format reads them. A CAP source
    may serve one alert, or an Atom index whose entries link to alerts (each fetched here,
    with the same limits; one that fails fails the poll)."""
    if source.format != "cap":
        return rss.parse_feed(body, zone=settings.zone, expected=source.format), []
    notes: list[str] = []
    links = cap.index_links(body, source.url)
    if links is None:
        bodies = [body]
    else:
        if len(links) > MAX_ALERTS:
            notes.append(f"the index links {len(links)} alerts: only the first {MAX_ALERTS} read")
        bodies = [fetcher(link, http=http).body for link in links[:MAX_ALERTS]]
    entries = []
    for alert in bodies:
        try:
            entries.append(cap.parse_alert(alert, zone=settings.zone))
        except cap.NotActual as exc:
            notes.append(str(exc))
    return entries, notes


def poll_source(
    database: Database,
    settings: Settings,
    name: str,
    *,
    now: datetime,
    http: requests.Session | None = None,
    fetcher: Fetcher = fetch,
    dry_run: bool = False,
) -> PollResult:
    """Fetch the source and apply its entries. ``dry_run``: fetch and apply the same way,
    then roll back, so the result says what would change and nothing is written (the
    source's last poll and error included)."""
    with database.read() as session:
        source = get_source(session, name)
    assert source.id is not None
    result = PollResult(source=source.name, status="ok")
    try:
        fetched = fetcher(
            source.url, etag=source.etag, last_modified=source.last_modified, http=http
        )
        entries, notes = (
            ([], [])
            if fetched.not_modified
            else read_entries(source, fetched.body, settings, fetcher=fetcher, http=http)
        )
    except FeedError as exc:
        return _failed(database, source, result, str(exc), now=now, record=not dry_run)
    result.entries = len(entries)
    try:
        with database.session() as session:
            _apply(session, source, fetched, entries, notes, result, settings=settings, now=now)
            if dry_run:
                session.rollback()
    except Exception as exc:  # a bug or the database: the source says so, others go on
        log.exception("applying a source failed", extra={"source": source.name})
        message = f"applying the feed failed: {exc}"
        return _failed(database, source, result, message, now=now, record=not dry_run)
    if not dry_run:
        log.info("source polled", extra=result.as_dict())
    return result


def _apply(
    session: Session,
    source: Source,
    fetched: Fetched,
    entries: list[MappedEntry],
    notes: list[str],
    result: PollResult,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """Apply the fetched entries under the source's row lock (see the module docstring)."""
    assert source.id is not None
    locked = _lock(session, source.id)
    locked.last_poll_at, locked.updated_at = now, now
    locked.next_poll_at = now + timedelta(seconds=locked.every_seconds)
    locked.last_error = None
    if locked.polls != source.polls:
        result.applied.notes.append(
            "another poll of this source was applied while this one fetched: "
            "its copy was dropped (the next poll fetches again)"
        )
        return
    locked.polls += 1
    if fetched.not_modified:
        result.status = locked.last_status = "not_modified"
    else:
        result.applied = apply_entries(session, locked, entries, settings=settings, now=now)
        result.applied.notes[:0] = notes
        locked.etag, locked.last_modified = fetched.etag, fetched.last_modified
        locked.last_status, locked.entries_seen = "ok", len(entries)
    session.add(locked)


def _lock(session: Session, source_id: int) -> Source:
    found = session.exec(select(Source).where(Source.id == source_id).with_for_update()).first()
    assert found is not None
    return found


def _failed(
    database: Database,
    source: Source,
    result: PollResult,
    message: str,
    *,
    now: datetime,
    record: bool = True,
) -> PollResult:
    result.status, result.error = "error", message[:500]
    if not record:  # a dry run
        return result
    log.warning("source poll failed", extra={"source": source.name, "error": result.error})
    with database.session() as session:
        locked = session.get(Source, source.id)
        if locked is not None:
            locked.last_poll_at, locked.updated_at = now, now
            locked.next_poll_at = now + timedelta(seconds=locked.every_seconds)
            locked.last_status, locked.last_error = "error", result.error
            session.add(locked)
    return result


def claim_due(database: Database, *, now: datetime) -> list[str]:
    """Names of the sources due at ``now`` that this caller won (their next poll moved on)."""
    claimed: list[str] = []
    # A read first: most ticks find nothing due, and need not take SQLite's write lock.
    with database.read() as session:
        due = session.exec(
            select(Source.id, Source.name, Source.every_seconds).where(
                or_(col(Source.next_poll_at).is_(None), col(Source.next_poll_at) <= now)
            )
        ).all()
    if not due:
        return claimed
    with database.session() as session:
        for source_id, name, every in due:
            won = session.execute(
                update(Source)
                .where(
                    col(Source.id) == source_id,
                    or_(col(Source.next_poll_at).is_(None), col(Source.next_poll_at) <= now),
                )
                .values(next_poll_at=now + timedelta(seconds=every))
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(name)
    return claimed


def poll_due(
    database: Database,
    settings: Settings,
    *,
    now: datetime,
    http: requests.Session | None = None,
    fetcher: Fetcher = fetch,
) -> list[PollResult]:
    """Poll every due source once; one failing never stops the others."""
    results = []
    for name in claim_due(database, now=now):
        try:
            results.append(
                poll_source(database, settings, name, now=now, http=http, fetcher=fetcher)
            )
        except Exception:  # removed meanwhile, or the database is away: next tick retries
            log.exception("polling a source failed", extra={"source": name})
    return results
