"""Start-up cost of CLI commands, in CPU-seconds of the whole process, next to bare imports.

Each command runs as its own process (as a planner types it) a few times; the figure is the
lowest and highest user+system CPU time of the runs, measured by ``os.wait4``. Baselines in
the same run: an empty ``python -c pass``, ``import sqlalchemy, click`` (what any command of a
click + SQLAlchemy tool pays) and ``import sqlmodel`` (the models' floor).

    python -m bench start
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = int(os.environ.get("BENCH_START_RUNS", "5"))
AIM_CPU_SECONDS = 0.5


def cpu_seconds(argv: list[str], cwd: Path) -> float:
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{argv} failed: {process.stderr.read().decode() if process.stderr else ''}"
        )
    return usage.ru_utime + usage.ru_stime


def measure(argv: list[str], cwd: Path) -> tuple[float, float]:
    figures = [cpu_seconds(argv, cwd) for _ in range(RUNS)]
    return min(figures), max(figures)


def main() -> None:
    python = sys.executable
    cli = [python, "-m", "outage_notify"]
    with tempfile.TemporaryDirectory() as directory:
        cwd = Path(directory)
        cpu_seconds([*cli, "init"], cwd)
        rows = [
            ("python -c pass (baseline)", [python, "-c", "pass"]),
            ("import sqlalchemy, click (baseline)", [python, "-c", "import sqlalchemy, click"]),
            ("import sqlmodel (baseline)", [python, "-c", "import sqlmodel"]),
            ("outage-notify --help", [*cli, "--help"]),
            ("outage-notify outages list", [*cli, "outages", "list"]),
            ("outage-notify outages --help", [*cli, "outages", "--help"]),
            ("outage-notify customers list", [*cli, "customers", "list"]),
            ("outage-notify dispatch --help", [*cli, "dispatch", "--help"]),
        ]
        print(f"{'command':40} {'CPU-s (min-max of ' + str(RUNS) + ')':>24}")
        for label, argv in rows:
            low, high = measure(argv, cwd)
            aim = "" if "baseline" in label or "dispatch" in label else f"  aim < {AIM_CPU_SECONDS}"
            print(f"{label:40} {low:>11.2f} - {high:<10.2f}{aim}")


if __name__ == "__main__":
    main()
