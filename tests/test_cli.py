from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from outage_notify.cli import COMMANDS as LAZY_COMMANDS
from outage_notify.cli import cli


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    # list_commands/get_command, not .commands: the root group loads its commands on use.
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        path = (*prefix, name)
        yield " ".join(path), command
        if isinstance(command, click.Group):
            yield from walk(command, path)


COMMANDS = dict(walk(cli))


def test_there_are_commands() -> None:
    assert {"init", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(path: str) -> None:
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "--config" in result.output
    command = COMMANDS[path]
    if not isinstance(command, click.Group):
        assert "Example:" in result.output, f"`outage-notify {path} --help` has no Example: block"
        assert f"outage-notify {path}" in result.output


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_the_short_help_listed_before_loading_is_the_commands_own(name: str) -> None:
    assert LAZY_COMMANDS[name][1] == COMMANDS[name].get_short_help_str(limit=300)


def test_root_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_bad_config_is_a_one_line_error_and_exit_1(run_cli, config_values) -> None:  # type: ignore[no-untyped-def]
    config_values["sms"]["backend"] = "pigeon"
    result = run_cli("init")
    assert result.exit_code == 1
    assert "config key sms.backend" in result.output
    assert "Traceback" not in result.output


def test_bad_environment_is_an_error_and_exit_1(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("init", env={"OUTAGE_NOTIFY_SMS__CONCURRENCY": "lots"})
    assert result.exit_code == 1
    assert "config key sms.concurrency" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2


HEAVY = ("fastapi", "uvicorn", "twilio", "shapely", "numpy", "rich", "jinja2", "apscheduler")


@pytest.mark.parametrize("argv", [["--help"], ["outages", "--help"], ["customers", "--help"]])
def test_help_imports_none_of_the_heavy_modules(argv: list[str]) -> None:
    # What `--help` loads, not how fast: each of these costs a noticeable part of a second.
    script = (
        "import sys\n"
        "from outage_notify.cli import cli\n"
        "try:\n"
        f"    cli({argv!r}, prog_name='outage-notify')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
