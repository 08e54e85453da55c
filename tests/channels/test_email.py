"""The email backends: SMTP connections, TLS, AUTH, failures; the file and disabled backends."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from channels.base import ChannelError, DeliveryResult
from channels.email import BACKENDS, DisabledEmail, FileEmail, SMTPEmail
from tests.channels.email_samples import FROM, NOW, message, smtp_channel
from tests.smtp_server import LocalSMTPServer, TLSCertificates, free_port


def test_one_connection_carries_a_batch(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel = channel_for(smtp_server)
    for delivery_id in range(1, 21):
        channel.send(message(delivery_id))
    assert len(smtp_server.messages) == 20
    assert smtp_server.connections == 1


@pytest.mark.parametrize(
    "farewell",
    [None, "421 4.4.2 outage-notify.test Error: timeout exceeded"],
    ids=["silent", "421"],
)
def test_a_connection_the_server_dropped_is_reopened(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail], farewell: str | None
) -> None:
    channel = channel_for(smtp_server)
    channel.send(message(1))
    smtp_server.drop_connections(reply=farewell)
    result = channel.send(message(2))
    assert result.state == "sent"
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == 2


@pytest.mark.parametrize(("idle", "connections"), [(30, 1), (60, 1), (61, 2)])
def test_a_connection_idle_too_long_is_replaced(
    smtp_server: LocalSMTPServer,
    channel_for: Callable[..., SMTPEmail],
    idle: int,
    connections: int,
) -> None:
    times = iter([NOW, NOW, NOW + timedelta(seconds=idle), NOW + timedelta(seconds=idle)])
    channel = channel_for(smtp_server, clock=lambda: next(times), max_idle=60.0)
    channel.send(message(1))
    channel.send(message(2))
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == connections


def test_a_421_fails_the_message_and_the_next_send_succeeds(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel = channel_for(smtp_server)
    smtp_server.fail_next(1, "421 4.3.0 Too busy, try again later")
    with pytest.raises(ChannelError) as caught:
        channel.send(message(1))
    assert not caught.value.permanent
    assert caught.value.code == "421"
    assert smtp_server.messages == []
    # The retry is the dispatcher's: a second call, on a fresh connection (421 closes it).
    assert channel.send(message(1)).state == "sent"
    assert len(smtp_server.messages) == 1
    assert smtp_server.connections == 2


def test_a_550_is_permanent_and_flags_the_address(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    smtp_server.refuse_recipient("gone@example.net")
    channel = channel_for(smtp_server)
    with pytest.raises(ChannelError) as caught:
        channel.send(message(address="gone@example.net"))
    error = caught.value
    assert error.permanent
    assert error.code == "550"
    assert error.flag == "invalid_contact"
    assert error.recipients == ("gone@example.net",)
    assert "gone@example.net" not in error.reason  # reasons end up in logs
    # The refusal left the connection usable for the next message.
    channel.send(message(2))
    assert smtp_server.connections == 1


def test_a_partial_refusal_fails_only_the_refused_recipient(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    smtp_server.refuse_recipient("gone@example.net")
    with pytest.raises(ChannelError) as caught:
        channel_for(smtp_server).send(message(address="home@example.net, gone@example.net"))
    error = caught.value
    assert error.recipients == ("gone@example.net",)
    assert error.permanent
    assert error.flag == "invalid_contact"
    assert "1 of 2" in error.reason
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("home@example.net",)


def test_auth_logs_in_with_the_credentials(
    smtp_server_factory: Callable[..., LocalSMTPServer], channel_for: Callable[..., SMTPEmail]
) -> None:
    server = smtp_server_factory(auth=("notices", "s3cret"))
    channel_for(server, username="notices", password="s3cret").send(message())
    assert server.messages[0].authenticated_as == "notices"


def test_a_refused_login_is_transient_and_names_the_keys(
    smtp_server_factory: Callable[..., LocalSMTPServer], channel_for: Callable[..., SMTPEmail]
) -> None:
    server = smtp_server_factory(auth=("notices", "s3cret"))
    with pytest.raises(ChannelError) as caught:
        channel_for(server, username="notices", password="wrong").send(message())
    assert not caught.value.permanent  # the operator fixes the password; the notice waits
    assert caught.value.code == "535"
    assert "email.password" in caught.value.reason
    assert "wrong" not in caught.value.reason
    assert server.messages == []


def test_without_a_username_a_server_requiring_auth_refuses(
    smtp_server_factory: Callable[..., LocalSMTPServer], channel_for: Callable[..., SMTPEmail]
) -> None:
    server = smtp_server_factory(auth=("notices", "s3cret"))
    with pytest.raises(ChannelError) as caught:
        channel_for(server).send(message())
    assert caught.value.code == "530"
    assert server.messages == []


def test_starttls_upgrades_before_auth(
    smtp_server_factory: Callable[..., LocalSMTPServer],
    channel_for: Callable[..., SMTPEmail],
    tls_certificates: TLSCertificates,
) -> None:
    server = smtp_server_factory(tls_context=tls_certificates.server, auth=("notices", "s3cret"))
    channel = channel_for(
        server,
        starttls=True,
        ssl_context=tls_certificates.client,
        username="notices",
        password="s3cret",
    )
    channel.send(message(1))
    channel.send(message(2))
    assert [m.tls for m in server.messages] == [True, True]
    assert server.messages[0].authenticated_as == "notices"
    assert server.connections == 1


def test_implicit_tls_connects_with_tls_from_the_start(
    smtp_server_factory: Callable[..., LocalSMTPServer],
    channel_for: Callable[..., SMTPEmail],
    tls_certificates: TLSCertificates,
) -> None:
    server = smtp_server_factory(tls_context=tls_certificates.server, implicit_tls=True)
    channel = channel_for(server, implicit_tls=True, ssl_context=tls_certificates.client)
    channel.send(message())
    assert server.messages[0].tls


def test_an_untrusted_certificate_is_refused(
    smtp_server_factory: Callable[..., LocalSMTPServer],
    channel_for: Callable[..., SMTPEmail],
    tls_certificates: TLSCertificates,
) -> None:
    server = smtp_server_factory(tls_context=tls_certificates.server)
    with pytest.raises(ChannelError) as caught:
        channel_for(server, starttls=True).send(message())  # the system's trust store
    assert caught.value.code == "tls_error"
    assert not caught.value.permanent
    assert server.messages == []


def test_starttls_is_never_skipped_when_the_server_lacks_it(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    with pytest.raises(ChannelError) as caught:
        channel_for(smtp_server, starttls=True).send(message())
    assert caught.value.code == "starttls_unavailable"
    assert smtp_server.messages == []


def test_port_465_means_implicit_tls() -> None:
    assert SMTPEmail(host="mail", port=465, from_address=FROM).implicit_tls
    assert not SMTPEmail(host="mail", port=587, from_address=FROM).implicit_tls


def test_each_thread_has_its_own_connection_and_close_ends_them_all(
    smtp_server: LocalSMTPServer,
) -> None:
    channel = smtp_channel(smtp_server)
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        try:
            barrier.wait(timeout=5)
            for delivery_id in range(first, first + 5):
                channel.send(message(delivery_id))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n * 100,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(smtp_server.messages) == 15
    assert smtp_server.connections == 3
    channel.close()
    # close() ended all three (QUIT answered): the next send needs a connection of its own.
    channel.send(message(999))
    assert smtp_server.connections == 4
    channel.close()


# The failure table, shared by the push channels: timeout, connection refused, 4xx, 5xx.


@dataclass(frozen=True)
class Failure:
    name: str
    arrange: Callable[[LocalSMTPServer], tuple[str, int]]  # returns the host and port to use
    permanent: bool
    code: str


def _silent_port(_server: LocalSMTPServer) -> tuple[str, int]:
    """A port that accepts the connection and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    _SILENT.append(listener)
    return listener.getsockname()


_SILENT: list[socket.socket] = []


def _closed_port(_server: LocalSMTPServer) -> tuple[str, int]:
    return "127.0.0.1", free_port()


def _reply(reply: str) -> Callable[[LocalSMTPServer], tuple[str, int]]:
    def arrange(server: LocalSMTPServer) -> tuple[str, int]:
        server.fail_next(1, reply)
        return server.address

    return arrange


def _stopped(server: LocalSMTPServer) -> tuple[str, int]:
    server.stop()
    return server.address


FAILURES = [
    Failure("timeout", _silent_port, permanent=False, code="timeout"),
    Failure("connection refused", _closed_port, permanent=False, code="connection_refused"),
    Failure("server down", _stopped, permanent=False, code="connection_refused"),
    Failure("4xx", _reply("451 4.3.0 Temporary local problem"), permanent=False, code="451"),
    Failure("4xx rate limit", _reply("450 4.7.1 Rate limited"), permanent=False, code="450"),
    Failure("5xx", _reply("554 5.6.0 Message content rejected"), permanent=True, code="554"),
    Failure("5xx too big", _reply("552 5.3.4 Message too big"), permanent=True, code="552"),
]


@pytest.fixture
def _close_silent_ports() -> Iterator[None]:
    yield
    while _SILENT:
        _SILENT.pop().close()


@pytest.mark.usefixtures("_close_silent_ports")
@pytest.mark.parametrize("failure", FAILURES, ids=[f.name for f in FAILURES])
def test_failures_become_channel_errors(
    smtp_server: LocalSMTPServer, failure: Failure, channel_for: Callable[..., SMTPEmail]
) -> None:
    host, port = failure.arrange(smtp_server)
    channel = channel_for(smtp_server, host=host, port=port, timeout=0.5)
    with pytest.raises(ChannelError) as caught:
        channel.send(message())
    assert caught.value.permanent is failure.permanent
    assert caught.value.code == failure.code
    assert caught.value.flag is None
    assert smtp_server.messages == []


def test_sending_resumes_when_the_server_is_back(
    smtp_server: LocalSMTPServer, channel_for: Callable[..., SMTPEmail]
) -> None:
    channel = channel_for(smtp_server)
    channel.send(message(1))
    smtp_server.stop()
    with pytest.raises(ChannelError) as caught:
        channel.send(message(2))
    # The kept connection was dead; the fresh one it tried was refused.
    assert caught.value.code == "connection_refused"
    assert not caught.value.permanent
    smtp_server.start()
    assert channel.send(message(2)).state == "sent"
    assert len(smtp_server.messages) == 2


# The other backends ----------------------------------------------------------------------


def test_the_file_backend_writes_one_eml_per_message(tmp_path: Path) -> None:
    backend = FileEmail(tmp_path / "outbox", FROM, clock=lambda: NOW)
    first = backend.send(message(12))
    backend.send(message(13))
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name.split("-", 1)[0] for f in files] == ["12", "13"]
    assert first.state == "delivered"
    assert first.provider_id is not None
    assert first.provider_id.strip("<>").replace("@", "@") in files[0].name
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == first.provider_id
    assert parsed.get_body(("html",)) is not None
    assert not list((tmp_path / "outbox").glob(".*.tmp"))


def test_the_file_backend_reports_an_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(ChannelError) as caught:
        FileEmail(blocker, FROM).send(message())
    assert caught.value.code == "file_error"
    assert not caught.value.permanent


def test_the_disabled_backend_fails_permanently() -> None:
    with pytest.raises(ChannelError) as caught:
        DisabledEmail().send(message())
    assert caught.value.permanent
    assert caught.value.code == "disabled"


def test_the_registry_names_the_three_backends(tmp_path: Path) -> None:
    assert set(BACKENDS) == {"smtp", "file", "disabled"}
    result = BACKENDS["file"](tmp_path, FROM).send(message())
    assert isinstance(result, DeliveryResult)
