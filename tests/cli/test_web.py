from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import write_config

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_serve_refuses_an_empty_secret_key(run_cli, config_values) -> None:  # type: ignore[no-untyped-def]
    config_values["web"]["secret_key"] = ""
    result = run_cli("serve")
    assert result.exit_code == 1
    assert "config key web.secret_key is empty" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_database_without_its_schema(
    run_cli, config_values, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    config_values["database_url"] = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_cli("serve")
    assert result.exit_code == 1
    assert "run `outage-notify init` first" in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_serves_the_app_until_stopped(config_values, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    config_values["web"].update(host="127.0.0.1", port=port)
    config = write_config(tmp_path / "serve.toml", config_values)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTAGE_NOTIFY_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from outage_notify.cli import main; main()",
            "--config",
            str(config),
            "serve",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (
                    process.stdout.read().decode() if process.stdout else ""
                )
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)  # waiting for a real server to bind: no fake clock for that
        assert health.json()["database"] == "ok"
        feed = httpx.get(f"{base}/feeds/outages.rss", timeout=5)
        assert feed.status_code == 200
        assert "server" not in feed.headers
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0


@pytest.mark.parametrize("command", [["serve"], ["run"]])
def test_a_busy_port_is_one_line_and_exit_1(run_cli, config_values, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config_values["web"].update(host="127.0.0.1", port=port)
        result = run_cli(*command)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        f"Error: cannot listen on 127.0.0.1:{port}: the address is already in use; stop the "
        "other server or set web.port (serve also takes --port)"
    ]
