"""The root group, the application context and the error boundary."""

from __future__ import annotations

import getpass
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from outage_notify import __version__
from outage_notify.errors import InputError, OutageNotifyError

if TYPE_CHECKING:
    from outage_notify.db import Database
    from outage_notify.settings import Settings


@dataclass
class AppContext:
    """What every command needs, built lazily so ``--help`` works without a config."""

    config_path: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    # The clock of commands run without --now; tests inject one (users rehearse with --now).
    clock: Callable[[], datetime] = field(default=lambda: _utcnow())

    @cached_property
    def settings(self) -> Settings:
        # Imported here: pydantic and phonenumbers cost a third of a CPU-second, which
        # `--help` and a usage error should not pay.
        from outage_notify.settings import load_settings

        settings = load_settings(self.config_path)
        if self.overrides:
            settings = settings.model_copy(update=self.overrides)
        return settings

    @cached_property
    def database(self) -> Database:
        """The configured database, refused in one line until ``init`` has created it."""
        from outage_notify.migrations import open_initialised

        return open_initialised(self.settings.database_url)

    @cached_property
    def new_database(self) -> Database:
        """The configured database, created on first use (``init`` only)."""
        from outage_notify.db import Database

        return Database(self.settings.database_url)


def _utcnow() -> datetime:
    from outage_notify.db import utcnow  # imported on use: --help loads no database layer

    return utcnow()


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        app = ctx.ensure_object(AppContext)
        app.config_path = value


def config_option() -> click.Option:
    return click.Option(
        ["--config"],
        type=click.Path(dir_okay=False),
        expose_value=False,
        is_eager=True,
        callback=_set_config,
        help="Config file (else $OUTAGE_NOTIFY_CONFIG, else ./outage-notify.toml).",
    )


class AppGroup(click.Group):
    """A group whose commands all take ``--config`` and whose domain errors exit 1 cleanly."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(p.name == "config" for p in cmd.params):
            cmd.params.append(config_option())
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise click.ClickException(_with_problems(str(exc), exc.problems)) from None
        except OutageNotifyError as exc:
            raise click.ClickException(str(exc)) from None


class LazyGroup(AppGroup):
    """A group whose commands are imported when used, not when the program starts.

    ``lazy`` maps a command name to ``("module:attribute", "short help")``: the short help is
    what ``--help`` lists, so listing the commands imports none of them (each pulls its own
    wing, and some FastAPI, the daemon or Twilio's client: seconds of start-up together).
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module_name, _, attribute = self.lazy[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [
            n for n in self.list_commands(ctx) if n in self.lazy or not self.commands[n].hidden
        ]
        if not names:
            return
        # Click's own cut, so the listing reads alike whether a command is loaded or not.
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [
            (
                n,
                (self.commands.get(n) or click.Command(n, help=self.lazy[n][1])).get_short_help_str(
                    limit
                ),
            )
            for n in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _with_problems(message: str, problems: list[str]) -> str:
    # A lone problem may be the message itself (kept as a problem for the REST API's fields).
    problems = [p for p in problems if p != message]
    return "\n".join([message, *(f"  {p}" for p in problems)]) if problems else message


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="outage-notify")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Tell residents about planned water and gas shutoffs before the work begins.

    Planners add outages; the daemon (`outage-notify run`) sends SMS and email notices at the
    right times and keeps the RSS, Atom, iCalendar and CAP feeds and the website banner
    current. Configuration: a TOML file (see config/outage-notify.toml) and OUTAGE_NOTIFY_*
    environment variables.

    Example:

        outage-notify --config /etc/outage-notify.toml init
    """
    ctx.ensure_object(AppContext)


cli.params.append(config_option())

pass_app = click.make_pass_decorator(AppContext, ensure=True)


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def actor_option() -> Any:
    return click.option(
        "--actor",
        default=default_actor,
        show_default="the OS user",
        help="Who made the change, for the audit log.",
    )


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, default=json_default, ensure_ascii=False, indent=2))


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
