"""Time options shared by commands: ``--start``, ``--end`` and ``--now`` as ISO 8601."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from outage_notify.cli.base import AppContext
from outage_notify.errors import InputError
from outage_notify.times import parse_time


def to_utc(app: AppContext, value: str, flag: str) -> datetime:
    """A time from the command line, local to ``timezone`` unless it has an offset."""
    try:
        return parse_time(value, app.settings.zone, name=flag)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def now_of(app: AppContext, value: str | None) -> datetime:
    return app.clock() if value is None else to_utc(app, value, "--now")


def rehearsal_now(app: AppContext, value: str | None, *, dry_run: bool) -> datetime:
    """``--now`` for a command that changes data: only with ``--dry-run``. A rehearsal clock
    must never change real state: ``outages restore --now`` a week early would supersede every
    pending notice and tell residents their water is back before the work began."""
    if value is not None and not dry_run:
        raise InputError(
            "--now is for rehearsals: with a command that changes data it needs --dry-run "
            "(nothing is then written); without --now the command acts at the current time"
        )
    return now_of(app, value)


def now_option() -> Callable[[Any], Any]:
    return click.option(
        "--now",
        "now_text",
        metavar="T",
        help="Act as if it were T (ISO 8601; rehearsals). On a command that changes data, "
        "only with --dry-run. Default: the clock.",
    )
