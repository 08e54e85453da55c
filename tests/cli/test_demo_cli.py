"""``outage-notify demo``'s own refusals, which come before the demo runs (the demo itself is
tested in tests/test_demo.py, marked slow)."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from outage_notify.cli import cli


def test_demo_serve_on_a_busy_port_names_its_own_option_before_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["demo", "--dir", str(tmp_path / "run"), "--serve", "--port", str(port)]
        )
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: the address is already in use; stop the "
        "other server or choose another --port"
    ]
    assert not (tmp_path / "run").exists()  # refused before the demo began
