"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, scriptable to misbehave.

Fixtures (registered for the whole suite through ``tests/conftest.py``):

- ``smtp_server``: a running plain server; ``smtp_server.messages`` holds what it received.
- ``smtp_server_factory(**options)``: more servers, e.g. ``auth=("user", "pass")``,
  ``starttls=True`` or ``implicit_tls=True`` (certificates from ``tls_certificates``).
- ``tls_certificates``: a throw-away certificate authority (trustme): ``.server`` for the
  server and ``.client`` an ``ssl.SSLContext`` that trusts it.

Scripting: ``fail_next(n, reply)`` answers the next n DATA commands with ``reply`` (421 by
default); ``refuse_recipient(address, reply)`` answers RCPT TO for that address with a 550;
``drop_connections(reply=None)`` closes every open connection from the server's side, as an
idle timeout does; ``stop()``/``start()`` refuse connections in between (same port);
``connections`` counts the SMTP sessions opened (EHLO/HELO seen).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DEFAULT_FAILURE = "421 4.3.0 Service temporarily unavailable, try again later"
DEFAULT_REFUSAL = "550 5.1.1 {address}: Recipient address rejected: User unknown"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (bound and released; aiosmtpd then binds it by number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage  # parsed with email.policy.default
    authenticated_as: str | None
    tls: bool


class _Handler:
    def __init__(self, server: LocalSMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.server.refused_recipients.get(address.lower())
        if reply is not None:
            return reply.format(address=f"<{address}>")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        with self.server.lock:
            if self.server.data_failures:
                return self.server.data_failures.pop(0)
        data = envelope.original_content or b""
        received = ReceivedMessage(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=message_from_bytes(data, policy=policy.default),  # type: ignore[arg-type]
            authenticated_as=_login_name(session.auth_data),
            tls=smtp._tls_protocol is not None or self.server.implicit_tls,
        )
        with self.server.lock:
            self.server.messages.append(received)
        return "250 2.0.0 OK: queued"


def _login_name(auth_data: Any) -> str | None:
    if isinstance(auth_data, LoginPassword):
        return auth_data.login.decode()
    return None


class _CountingSMTP(SMTP):
    """Counts sessions and keeps the open ones, so a test can cut them."""

    def __init__(self, server: LocalSMTPServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = server
        self._greeted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._owner.live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner.live.discard(self)
        super().connection_lost(error)

    def _count(self) -> None:
        if not self._greeted:
            self._greeted = True
            with self._owner.lock:
                self._owner.connections += 1

    async def smtp_EHLO(self, hostname: str) -> None:
        self._count()
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:
        self._count()
        await super().smtp_HELO(hostname)


class _Controller(Controller):
    def __init__(self, owner: LocalSMTPServer, **kwargs: Any) -> None:
        super().__init__(_Handler(owner), **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)


class LocalSMTPServer:
    """One aiosmtpd server on 127.0.0.1 and a free port; see the module docstring."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = False,
    ) -> None:
        self.port = free_port(self.host)
        self.auth = auth
        self.implicit_tls = implicit_tls
        self.lock = threading.Lock()
        self.messages: list[ReceivedMessage] = []
        self.data_failures: list[str] = []
        self.refused_recipients: dict[str, str] = {}
        self.connections = 0
        self.live: set[_CountingSMTP] = set()
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if auth is not None:
            kwargs.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        if implicit_tls:
            kwargs["ssl_context"] = tls_context
        elif tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        self._kwargs = kwargs
        self._controller: _Controller | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> None:
        if self._controller is None:
            controller = _Controller(self, hostname=self.host, port=self.port, **self._kwargs)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        """Stop listening and close every connection; ``start()`` listens on the same port."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self.live.clear()

    def fail_next(self, count: int = 1, reply: str = DEFAULT_FAILURE) -> None:
        with self.lock:
            self.data_failures.extend([reply] * count)

    def refuse_recipient(self, address: str, reply: str = DEFAULT_REFUSAL) -> None:
        with self.lock:
            self.refused_recipients[address.lower()] = reply

    def drop_connections(self, reply: str | None = None) -> None:
        """Close every open connection from the server's side (optionally saying ``reply``)."""
        controller = self._controller
        assert controller is not None, "the server is not running"

        async def drop() -> None:
            for session in list(self.live):
                if session.transport is not None:
                    if reply is not None:
                        session.transport.write(f"{reply}\r\n".encode())
                    session.transport.close()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(drop(), controller.loop).result(timeout=5)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        expected = self.auth
        ok = (
            expected is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == expected
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


@dataclass(frozen=True)
class TLSCertificates:
    server: ssl.SSLContext  # a server context with a certificate for 127.0.0.1 and localhost
    client: ssl.SSLContext  # trusts the test certificate authority, verifies as usual


@pytest.fixture(scope="session")
def tls_certificates() -> TLSCertificates:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return TLSCertificates(server=server, client=client)


@pytest.fixture
def smtp_server_factory() -> Iterator[Callable[..., LocalSMTPServer]]:
    servers: list[LocalSMTPServer] = []

    def make(**options: Any) -> LocalSMTPServer:
        server = LocalSMTPServer(**options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., LocalSMTPServer]) -> LocalSMTPServer:
    return smtp_server_factory()
