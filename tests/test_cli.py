from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from outage_notify.cli import COMMANDS as LAZY_COMMANDS
from outage_notify.cli import cli
from tests.builders import CITY, write_geojson
from tests.factories import add_outage


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


# Each costs a noticeable part of a CPU-second to import; none is needed to print a help text
# or to list outages (SQLAlchemy Core reads them, and the schema check reads no alembic).
HEAVY = (
    *("fastapi", "uvicorn", "twilio", "shapely", "numpy", "rich", "jinja2", "apscheduler"),
    *("wntr", "networkx", "alembic", "sqlmodel", "feedparser", "lxml"),
)


def _heavy_modules_loaded(argv: list[str]) -> tuple[list[str], str]:
    """The HEAVY modules a fresh process has loaded once it has run ``outage-notify ARGV``,
    and what the command printed."""
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
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("["), done.stderr
    return list(ast.literal_eval(last)), done.stdout


@pytest.mark.parametrize("path", ["", *sorted(COMMANDS)])
def test_help_imports_none_of_the_heavy_modules(path: str) -> None:
    # What `--help` loads, not how fast: the lazy command map, and each command module
    # importing its wing as it runs.
    loaded, printed = _heavy_modules_loaded([*path.split(), "--help"])
    assert loaded == []
    assert "Usage: outage-notify" in printed


def test_outages_list_imports_none_of_the_heavy_modules(config_file, db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        add_outage(session)
    loaded, printed = _heavy_modules_loaded(["--config", str(config_file()), "outages", "list"])
    assert loaded == []
    assert "Main replacement" in printed


# Every command that reads or writes the database, with arguments it accepts.
BEFORE_INIT = {
    "areas import": ["areas", "import", "{tmp}/areas.geojson"],
    "areas list": ["areas", "list"],
    "customers import": ["customers", "import", "{tmp}/customers.csv"],
    "customers list": ["customers", "list"],
    "customers show": ["customers", "show", "A1"],
    "customers opt-out": ["customers", "opt-out", "A1", "--channel", "sms"],
    "customers opt-in": ["customers", "opt-in", "A1", "--channel", "sms"],
    "dispatch": ["dispatch", "--once"],
    "feeds export": ["feeds", "export", "{tmp}/site"],
    "outages add": [
        *("outages", "add", "--utility", "water", "--start", "2026-12-10T10:00"),
        *("--end", "2026-12-10T14:00", "--area", "W01", "--title", "Main"),
    ],
    "outages import": ["outages", "import", "{tmp}/outages.csv"],
    "outages list": ["outages", "list"],
    "outages show": ["outages", "show", "1"],
    "outages preview": ["outages", "preview", "1"],
    "outages reschedule": [
        *("outages", "reschedule", "1", "--start", "2026-12-10T10:00"),
        *("--end", "2026-12-10T14:00"),
    ],
    "outages extend": ["outages", "extend", "1", "--end", "2026-12-10T18:00"],
    "outages cancel": ["outages", "cancel", "1"],
    "outages restore": ["outages", "restore", "1"],
    "report": ["report", "--year", "2026"],
    "outages approve": ["outages", "approve", "1"],
    "network show": ["network", "show"],
    "network isolate": ["network", "isolate", "P1"],
    "sources add": ["sources", "add", "city", "https://example.org/f.rss", "--format", "rss"],
    "sources list": ["sources", "list"],
    "sources poll": ["sources", "poll"],
    "sources remove": ["sources", "remove", "city"],
    "serve": ["serve"],
    "run": ["run"],
}


def test_every_database_command_is_in_the_before_init_table() -> None:
    # network import reads (and needs the optional extra for) its file before the database.
    without_database = {"init", "demo", "email test", "network import"}
    commands = {p for p, c in COMMANDS.items() if not isinstance(c, click.Group)}
    assert commands - without_database == set(BEFORE_INIT)


@pytest.mark.parametrize("name", sorted(BEFORE_INIT))
def test_a_command_before_init_says_to_run_init_and_creates_nothing(
    run_cli,  # type: ignore[no-untyped-def]
    config_values,
    tmp_path,
    name: str,
) -> None:
    database = tmp_path / "not-yet.db"
    config_values["database_url"] = f"sqlite:///{database}"
    write_geojson(tmp_path / "areas.geojson", CITY)
    (tmp_path / "customers.csv").write_text("account_id,phone\nA1,13800138000\n")
    (tmp_path / "outages.csv").write_text("ref,utility,title,description,start,end,areas\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in BEFORE_INIT[name]]
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "run `outage-notify init` first" in lines[0]
    assert str(database) in lines[0]
    assert not database.exists()
    assert list(tmp_path.glob("not-yet.db*")) == []


def test_a_database_without_the_tables_says_to_run_init(run_cli, config_values, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    database = tmp_path / "other.db"
    sqlite3.connect(database).execute("CREATE TABLE something (a)").connection.close()
    config_values["database_url"] = f"sqlite:///{database}"
    result = run_cli("outages", "list")
    assert result.exit_code == 1
    assert "has no outage-notify tables: run `outage-notify init` first" in result.output


def test_init_creates_the_database(run_cli, config_values, tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = tmp_path / "new.db"
    config_values["database_url"] = f"sqlite:///{database}"
    assert run_cli("init").exit_code == 0
    assert database.exists()
    assert run_cli("outages", "list").exit_code == 0
