"""The README's "A day in the life" runs as written, today, on a fresh database.

Its shell block is run command by command by bash in a scratch directory that holds the
checkout's demo data, with the real `outage-notify` of this environment: each command must
exit 0, and the last must print what its comment says. Dates in the block are relative to the
day it is pasted, so this runs on the real clock; it asserts counts, never a time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARK = "@@exit "


def day_in_the_life() -> list[str]:
    """The commands of the section's ``sh`` block, continuation lines joined."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## A day in the life\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the section has no sh block"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        current += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(current.strip())
            current = ""
    return [c for c in commands if c]


def claim(command: str) -> str:
    """What a command's trailing comment says it prints."""
    return command.split("  # ", 1)[1].strip() if "  # " in command else ""


def run_block(directory: Path, env: dict[str, str]) -> list[tuple[str, int, str]]:
    """(command, exit code, output) for each command, run in order in one bash."""
    commands = day_in_the_life()
    # Braces, so a command's own redirection (> door-hangers.csv) keeps its stdout.
    script = "".join(f"{{ {c}\n}} 2>&1\necho '{MARK}'$?\n" for c in commands)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    chunks = done.stdout.split(MARK)
    assert len(chunks) == len(commands) + 1, done.stdout[-2000:] + done.stderr[-2000:]
    outputs = [chunks[0]] + [c.partition("\n")[2] for c in chunks[1:-1]]
    codes = [int(c.partition("\n")[0]) for c in chunks[1:]]
    return list(zip(commands, codes, outputs, strict=True))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """SQLite: the README's own default, ./outage-notify.db. PostgreSQL: a fresh, empty one."""
    if request.param == "sqlite":
        return {}
    return {"OUTAGE_NOTIFY_DATABASE_URL": str(request.getfixturevalue("fresh_postgres_url"))}


@pytest.mark.slow
def test_a_day_in_the_life_runs_as_written(tmp_path: Path, database_env: dict[str, str]) -> None:
    data = Path("outage_notify") / "demo_data"
    shutil.copytree(REPO / data, tmp_path / data)
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **database_env,
    }
    results = run_block(tmp_path, env)
    for command, code, output in results:
        assert code == 0, f"{command}\n{output[-2000:]}"
    # Each command ran against what the previous ones left (ids as a fresh database gives).
    assert "outage-notify init" in results[1][0]
    assert "Created the database" in results[1][2]
    planned = next(out for cmd, _, out in results if cmd.endswith("# planned"))
    assert re.match(r"Planned #\d+ WO-2291 water W06, W07 ", planned), planned
    last_command, _, last_output = results[-1]
    assert claim(last_command) in " ".join(last_output.split())
    # The reschedule's message states the change, as the block's comment says.
    texts = (tmp_path / "outbox" / "sms.jsonl").read_text(encoding="utf-8")
    assert "13:00-17:00, was " in texts
    assert (tmp_path / "door-hangers.csv").exists()
