"""A rich progress bar on stderr for long operations, only when stderr is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from outage_notify.cli.base import stderr_is_terminal

Report = Callable[[str, int, int], None]


@contextmanager
def progress_bar(labels: dict[str, str]) -> Iterator[Report | None]:
    """Yields a ``report(phase, done, total)`` callback, or None when stderr is not a tty.

    ``labels`` maps each phase to what the bar says, e.g. ``{"check": "Checking rows"}``.
    """
    if not stderr_is_terminal():
        yield None
        return
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield report
