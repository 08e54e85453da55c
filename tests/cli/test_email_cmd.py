"""``outage-notify email test``: a sample notice through the configured backend."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from outage_notify.cli import cli
from tests.conftest import base_config, write_config
from tests.smtp_server import LocalSMTPServer


@pytest.fixture
def email_cli(tmp_path: Path, sqlite_url: str) -> Callable[..., Result]:
    """Run the CLI with the test config; ``email=`` replaces keys of ``[email]``."""

    def invoke(*args: str, email: dict[str, Any] | None = None) -> Result:
        values = base_config(tmp_path, sqlite_url)
        values["email"].update(email or {})
        path = write_config(tmp_path / "outage-notify.toml", values)
        return CliRunner().invoke(cli, ["--config", str(path), *args], catch_exceptions=False)

    return invoke


def test_the_file_backend_writes_the_sample(
    email_cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = email_cli("email", "test", "you@example.org", "--language", "en", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["backend"] == "file"
    assert report["state"] == "delivered"
    [written] = (tmp_path / "outbox" / "email").glob("*.eml")
    assert report["detail"] == str(written)
    assert b"Subject: [TEST] Planned water shutoff" in written.read_bytes()


def test_smtp_sends_the_sample(
    email_cli: Callable[..., Result], smtp_server: LocalSMTPServer
) -> None:
    result = email_cli(
        "email",
        "test",
        "You@Example.org",
        email={"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "starttls": False},
    )
    assert result.exit_code == 0, result.output
    assert "Sent a test email through the smtp backend: sent" in result.output
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("You@example.org",)
    assert received.message["Subject"].startswith("[TEST] 【城市供水】停水通知")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ({"backend": "disabled"}, "[code disabled, permanent]"),
        (
            {"backend": "smtp", "host": "127.0.0.1", "port": 0, "starttls": False},
            "[code connection_refused, transient: the dispatcher would retry]",
        ),
    ],
    ids=["disabled", "refused"],
)
def test_a_failed_send_says_why_and_exits_1(
    email_cli: Callable[..., Result], email: dict[str, Any], expected: str
) -> None:
    # A port bound but not listening refuses connections, and no other process can take it
    # while the test runs (a merely free port can be taken in between).
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        if email.get("port") == 0:
            email["port"] = holder.getsockname()[1]
        result = email_cli("email", "test", "you@example.org", email=email)
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_bad_address_is_refused(email_cli: Callable[..., Result]) -> None:
    result = email_cli("email", "test", "not-an-address")
    assert result.exit_code == 1
    assert "is not an email address" in result.output
