"""Rendered documents, cached until the database or the clock changes them, served with
conditional GET (ETag, Last-Modified, 304) and ``Cache-Control: max-age=60``.

Each request costs one cheap query (:func:`~outage_notify.publication.fingerprint`): when it
matches the marker a document was built under, and time has not reached the moment at which
the document would change by itself (an outage starting, ending or leaving the window), the
stored bytes are served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from outage_notify.db import Database
from outage_notify.documents import Publisher
from outage_notify.publication import Snapshot, fingerprint, read_snapshot
from outage_notify.settings import Settings

MAX_AGE = 60
MAX_ENTRIES = 512

Build = Callable[[], tuple[bytes, datetime | None]]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    last_modified: datetime  # whole seconds, UTC


@dataclass(frozen=True)
class View:
    """What one request works from: the database marker and the snapshot it matches."""

    marker: tuple[Any, ...]
    snapshot: Snapshot
    now: datetime


@dataclass
class _Entry:
    marker: tuple[Any, ...]
    valid_until: datetime | None
    value: Any

    def fresh(self, marker: tuple[Any, ...], now: datetime) -> bool:
        return self.marker == marker and (self.valid_until is None or now < self.valid_until)


class Published:
    """The documents one app serves; lives in ``app.state.published``."""

    def __init__(
        self, settings: Settings, database: Database, clock: Callable[[], datetime]
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.publisher = Publisher(settings)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        # One lock for reads and builds: builds are rare, and a crowd of requests arriving
        # just after a change then waits for one build instead of making one each.
        self._lock = threading.Lock()

    def view(self) -> View:
        now = self.clock()
        with self.database.read() as session:
            marker = fingerprint(session)
            with self._lock:
                entry = self._entries.get(("snapshot",))
                if entry is not None and entry.fresh(marker, now):
                    return View(marker, entry.value, now)
                snapshot = read_snapshot(session, self.settings, now=now)
                self._store(("snapshot",), _Entry(marker, snapshot.valid_until, snapshot))
        return View(marker, snapshot, now)

    def rendered(self, view: View, key: Hashable, media_type: str, build: Build) -> Rendered:
        """The document under ``key``, built by ``build`` when missing or stale.

        ``build`` returns the bytes and the moment they stop being right by time alone.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.fresh(view.marker, view.now):
                self._entries.move_to_end(key)
                value: Rendered = entry.value
                return value
            body, valid_until = build()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            modified = view.now.astimezone(UTC).replace(microsecond=0)
            if entry is not None:
                previous: Rendered = entry.value
                if previous.etag == etag:
                    modified = previous.last_modified
                elif modified <= previous.last_modified:
                    # Changed within the same second (or under a fixed clock): a client that
                    # only sends If-Modified-Since must still see the change.
                    modified = previous.last_modified + timedelta(seconds=1)
            rendered = Rendered(body, media_type, etag, modified)
            self._store(key, _Entry(view.marker, valid_until, rendered))
            return rendered

    def _store(self, key: Hashable, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags


def _not_modified_since(header: str, modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored, as RFC 9110 says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified <= since


def conditional_response(
    request: Request,
    rendered: Rendered,
    *,
    headers: Mapping[str, str] | None = None,
    max_age: int = MAX_AGE,
) -> Response:
    """200 with the body, or 304 when the client's copy is current."""
    common = {
        "ETag": rendered.etag,
        "Last-Modified": format_datetime(rendered.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since when both are sent.
        if _etag_matches(if_none_match, rendered.etag):
            return Response(status_code=304, headers=common)
    elif (since := request.headers.get("if-modified-since")) and _not_modified_since(
        since, rendered.last_modified
    ):
        return Response(status_code=304, headers=common)
    return Response(rendered.body, media_type=rendered.media_type, headers=common)


def published(request: Request) -> Published:
    value: Published = request.app.state.published
    return value
