"""Running the real ``outage-notify`` and the fake Twilio as processes of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def cli_process(config: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTAGE_NOTIFY_", "TWILIO_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "outage_notify", "--config", str(config), *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def run_cli_process(
    config: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    process = cli_process(config, *args)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextmanager
def fake_twilio_process() -> Iterator[str]:
    """The fake Twilio in a process of its own; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_twilio", "--port", "0"],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def fake_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=5) as response:
        return dict(json.load(response))


def fake_script(url: str, **faults: Any) -> None:
    request = urllib.request.Request(
        f"{url}/_fake/script",
        data=json.dumps(faults).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
