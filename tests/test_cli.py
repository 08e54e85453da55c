from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from outage_notify.cli import cli


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
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
