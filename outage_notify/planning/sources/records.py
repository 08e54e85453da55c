"""The sources themselves: add, look up, describe and remove them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from outage_notify import audit
from outage_notify.errors import NotFoundError, Problem, rejected
from outage_notify.models import Outage, Source, SourceEntry
from outage_notify.planning.outage_checks import check_areas
from outage_notify.planning.sources import FORMATS
from outage_notify.settings_values import parse_duration
from outage_notify.states import UTILITIES

MIN_EVERY = timedelta(minutes=1)  # a publisher polled faster than this would block us
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def get_source(session: Session, name: str) -> Source:
    source = session.exec(select(Source).where(Source.name == name)).first()
    if source is None:
        raise NotFoundError(f"there is no source {name!r} (see `outage-notify sources list`)")
    return source


def add_source(
    session: Session,
    *,
    name: str,
    url: str,
    fmt: str,
    utility: str | None,
    areas: Sequence[str],
    trusted: bool,
    every: str,
    actor: str,
) -> Source:
    problems: list[str] = []
    name = name.strip()
    if not _NAME.match(name):
        problems.append(
            Problem("the name must be 1-32 of a-z, 0-9, - and _ (it prefixes outage refs)", "name")
        )
    elif session.exec(select(Source.id).where(Source.name == name)).first() is not None:
        problems.append(Problem(f"there is already a source {name}", "name", conflict=True))
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(Problem(f"{url!r} is not an http(s) URL", "url"))
    if fmt not in FORMATS:
        problems.append(Problem(f"unknown format {fmt!r} (use atom, rss or cap)", "format"))
    if utility is not None and utility not in UTILITIES:
        problems.append(Problem(f"unknown utility {utility!r} (use water or gas)", "utility"))
    codes = list(dict.fromkeys(c.strip() for c in areas if c.strip()))
    if codes:
        if utility is None:
            problems.append(Problem("--area needs --utility (areas belong to a utility)", "areas"))
        else:
            problems += check_areas(session, codes, utility)
    try:
        interval = parse_duration(every)
        if interval < MIN_EVERY:
            problems.append(Problem("--every must be at least 1m", "every"))
    except ValueError as exc:
        problems.append(Problem(f"--every: {exc}", "every"))
        interval = MIN_EVERY
    if problems:
        raise rejected("the source was not added:", problems)
    source = Source(
        name=name,
        url=url.strip(),
        format=fmt,
        utility=utility,
        area_codes=codes,
        trusted=trusted,
        every_seconds=int(interval.total_seconds()),
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="source.added",
        entity="source",
        entity_id=source.id or 0,
        before=None,
        after=_settings_of(source),
    )
    return source


def remove_source(session: Session, name: str, *, actor: str) -> Source:
    """Stop polling it; its outages stay as they are (cancel them by hand if need be)."""
    source = get_source(session, name)
    session.execute(delete(SourceEntry).where(col(SourceEntry.source_id) == source.id))
    session.delete(source)
    audit.record(
        session,
        actor=actor,
        action="source.removed",
        entity="source",
        entity_id=source.id or 0,
        before=_settings_of(source),
        after=None,
    )
    session.flush()
    return source


def _settings_of(source: Source) -> dict[str, Any]:
    return {
        "name": source.name,
        "url": source.url,
        "format": source.format,
        "utility": source.utility,
        "areas": list(source.area_codes),
        "trusted": source.trusted,
        "every_seconds": source.every_seconds,
    }


def _local(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def describe_sources(session: Session, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Every source with its last poll and its entries (held and vanished ones with why)."""
    sources = session.exec(select(Source).order_by(col(Source.name))).all()
    entries: dict[int, list[SourceEntry]] = {}
    for row in session.exec(select(SourceEntry).order_by(col(SourceEntry.id))).all():
        entries.setdefault(row.source_id, []).append(row)
    statuses = dict(
        session.exec(
            select(Outage.id, Outage.status).where(
                col(Outage.id).in_([r.outage_id for rows in entries.values() for r in rows])
            )
        ).all()
    )
    described = []
    for source in sources:
        rows = entries.get(source.id or 0, [])
        described.append(
            {
                **_settings_of(source),
                "last_poll_at": _local(source.last_poll_at, zone),
                "next_poll_at": _local(source.next_poll_at, zone),
                "last_status": source.last_status,
                "last_error": source.last_error,
                "entries_seen": source.entries_seen,
                "held": sum(1 for r in rows if r.state == "held" and r.vanished_at is None),
                "vanished": sum(1 for r in rows if r.vanished_at is not None),
                "entries": [
                    {
                        "key": r.entry_key,
                        "state": r.state,
                        "outage_id": r.outage_id,
                        "outage_status": statuses.get(r.outage_id),
                        "reason": r.reason,
                        "last_seen_at": _local(r.last_seen_at, zone),
                        "vanished_at": _local(r.vanished_at, zone),
                    }
                    for r in rows
                ],
            }
        )
    return described
