"""Rendered documents, cached until the database or the clock changes them, served with
conditional GET (ETag, Last-Modified, 304) and ``Cache-Control: max-age=60``.

Each request costs one cheap query
(:func:`~outage_notify.publishing.publication.fingerprint`): when it
matches the marker a document was built under, and time has not reached the moment at which
the document would change by itself (an outage starting, ending or leaving the window), the
stored bytes are served.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cached_property
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from outage_notify.db import Database
from outage_notify.publishing.documents import Publisher
from outage_notify.publishing.publication import Snapshot, fingerprint, read_snapshot
from outage_notify.settings import Settings

MAX_AGE = 60
MAX_ENTRIES = 512
GZIP_MIN_BYTES = 1024

Build = Callable[[], tuple[bytes, datetime | None]]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    last_modified: datetime  # whole seconds, UTC

    @cached_property
    def gzipped(self) -> bytes | None:
        """The body compressed once, for clients that accept gzip; None when it would not
        shrink (the smallest documents)."""
        if len(self.body) < GZIP_MIN_BYTES:
            return None
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @property
    def gzip_etag(self) -> str:
        # A strong validator differs per content coding (RFC 9110 8.8.3).
        return self.etag[:-1] + '-gz"'


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
        self._marker_engine = database.engine.execution_options(read_only=True)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        # One lock for reads and builds: builds are rare, and a crowd of requests arriving
        # just after a change then waits for one build instead of making one each.
        self._lock = threading.Lock()

    def view(self) -> View:
        now = self.clock()
        with self._marker_engine.connect() as connection:
            marker = fingerprint(connection)
        with self._lock:
            entry = self._entries.get(("snapshot",))
            if entry is not None and entry.fresh(marker, now):
                return View(marker, entry.value, now)
            with self.database.read() as session:
                # Read the marker again in the snapshot's own transaction: a change committed
                # between the two reads must not be filed under the older marker.
                marker = fingerprint(session)
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
    """200 with the body (gzipped when the client takes it), or 304 when its copy is current."""
    body, etag = rendered.body, rendered.etag
    common = {"Vary": "Accept-Encoding"}
    if rendered.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding")):
        body, etag = rendered.gzipped, rendered.gzip_etag
        common["Content-Encoding"] = "gzip"
    common |= {
        "ETag": etag,
        "Last-Modified": format_datetime(rendered.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since when both are sent.
        if _etag_matches(if_none_match, etag):
            common.pop("Content-Encoding", None)
            return Response(status_code=304, headers=common)
    elif (since := request.headers.get("if-modified-since")) and _not_modified_since(
        since, rendered.last_modified
    ):
        common.pop("Content-Encoding", None)
        return Response(status_code=304, headers=common)
    return Response(body, media_type=rendered.media_type, headers=common)


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def published(request: Request) -> Published:
    # async: FastAPI would run a plain function in the thread pool, a hop per request.
    value: Published = request.app.state.published
    return value
