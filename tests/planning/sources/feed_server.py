"""A publisher of feeds on 127.0.0.1 for the sources tests: serves what the test sets, with
its own ETag/Last-Modified and 304s, and scriptable faults (a status, an endless body, a
hang until the test ends)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "sources"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass
class Document:
    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    endless: bool = False  # stream chunks with no Content-Length until the client stops
    declared_length: int | None = None  # a Content-Length that is not the body's
    hang: bool = False  # answer nothing until the server stops


@dataclass
class Seen:
    path: str
    if_none_match: str | None
    if_modified_since: str | None


@dataclass
class FeedServer:
    documents: dict[str, Document] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes, **values: object) -> str:
        self.documents[path] = Document(body=body, **values)  # type: ignore[arg-type]
        return self.url(path)


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.requests.append(
                Seen(
                    self.path,
                    self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"),
                )
            )
            doc = server.documents.get(self.path)
            if doc is None:
                return self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            if doc.hang:
                server.stopping.wait()
                return None
            if doc.etag and self.headers.get("If-None-Match") == doc.etag:
                return self._send(304, b"", None, etag=doc.etag)
            if doc.endless:
                self.send_response(doc.status)
                self.send_header("Content-Type", doc.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<!-- padding -->" * 4096
                try:
                    while not server.stopping.is_set():
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the client hung up, as it should
                return None
            return self._send(doc.status, doc.body, doc.content_type, doc)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str | None,
            doc: Document | None = None,
            etag: str | None = None,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            length = doc.declared_length if doc and doc.declared_length else len(body)
            self.send_header("Content-Length", str(length))
            if (doc and doc.etag) or etag:
                self.send_header("ETag", etag or (doc.etag if doc else "") or "")
            if doc and doc.last_modified:
                self.send_header("Last-Modified", doc.last_modified)
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body if not (doc and doc.declared_length) else body[:1024])

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def running() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = _Quiet(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
