"""Fetching a source's document over HTTP.

feedparser can fetch by itself but has no timeout and no size limit, so we fetch: ``requests``
with a connect/read timeout, a total deadline, a streamed size cap, and the ETag and
Last-Modified we saved last time (a 304 costs the publisher nothing). Every failure becomes a
:class:`FeedError` whose message a planner can act on; nothing is retried here (the next poll
is the retry).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from outage_notify import __version__
from outage_notify.errors import OutageNotifyError

TIMEOUT_SECONDS = 10.0
MAX_BYTES = 5 * 1024 * 1024  # a work-order feed is kilobytes; a bigger body is a wrong URL
USER_AGENT = f"outage-notify/{__version__} (+sources)"
_CHUNK = 64 * 1024


class FeedError(OutageNotifyError):
    """The source could not be read or understood; the message says why."""


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    http: requests.Session | None = None,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> Fetched:
    """GET ``url`` conditionally; raise FeedError on anything but a usable 200 or a 304."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/atom+xml, application/rss+xml, application/cap+xml, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    client = http or requests.Session()
    # The read timeout is per socket read: a server dripping a byte at a time would never
    # trip it, so the whole download also has a deadline.
    deadline = clock() + timeout
    try:
        response = client.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.Timeout:
        raise FeedError(f"no answer from {url} within {timeout:.0f} s") from None
    except requests.RequestException as exc:
        raise FeedError(f"could not connect to {url}: {type(exc).__name__}") from None
    try:
        if response.status_code == 304:
            return Fetched(not_modified=True, etag=etag, last_modified=last_modified)
        if response.status_code != 200:
            reason = response.reason or ""
            raise FeedError(f"{url} answered HTTP {response.status_code} {reason}".rstrip())
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedError(
                f"{url} sent {_mb(int(declared))}, more than the {_mb(max_bytes)} a feed may be"
            )
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"{url} sent more than the {_mb(max_bytes)} a feed may be")
                if clock() > deadline:
                    raise FeedError(f"{url} took more than {timeout:.0f} s to send its feed")
        except requests.RequestException as exc:
            name = "timed out" if isinstance(exc, requests.Timeout) else type(exc).__name__
            raise FeedError(f"reading {url} failed: {name}") from None
        return Fetched(
            not_modified=False,
            body=bytes(body),
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )
    finally:
        response.close()
        if http is None:
            client.close()
