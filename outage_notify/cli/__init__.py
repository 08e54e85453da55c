"""The ``outage-notify`` command line: thin, it parses, calls the core and prints.

Each command (or group) lives in its own module and is registered here by name, as
``"module:attribute"`` with its short help: it is imported only when it runs, so a command pays
for what it uses and ``--help`` for nothing (``tests/test_cli.py`` checks each short help
against the command's own).
"""

from __future__ import annotations

from outage_notify.cli.base import AppGroup, LazyGroup, cli

__all__ = ["COMMANDS", "AppGroup", "LazyGroup", "cli", "main"]

_CLI = "outage_notify.cli"
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (f"{_CLI}.init_cmd:init", "Create the database, or upgrade it to the current schema."),
    "demo": (
        f"{_CLI}.demo:demo",
        "Run the whole flow on a bundled demo city with SQLite and the file backends.",
    ),
    "dispatch": (
        f"{_CLI}.delivery:dispatch",
        "Expand the notices due now and send every delivery that can go, then exit.",
    ),
    "run": (
        f"{_CLI}.delivery:run",
        "Run the daemon: the scheduler, the dispatcher and the web app, until SIGTERM.",
    ),
    "areas": (f"{_CLI}.areas:areas_group", "Service areas: the polygons outages are planned by."),
    "customers": (
        f"{_CLI}.customers:customers_group",
        "Customers: the accounts notices go to, imported from the billing system's CSV.",
    ),
    # With the lifecycle commands (reschedule, extend, cancel, restore).
    "outages": (
        f"{_CLI}.outage_lifecycle:outages_group",
        "Planned shutoffs: plan them, check who hears about them, change them.",
    ),
    "network": (
        f"{_CLI}.network:network_group",
        "The water network: target outages by the valves a crew closes, not by a polygon.",
    ),
    "sources": (
        f"{_CLI}.sources:sources_group",
        "Upstream feeds of planned work (RSS, Atom or CAP) that become outages.",
    ),
    "email": (f"{_CLI}.email_cmd:email_group", "Email notices: check the SMTP set-up."),
    "report": (f"{_CLI}.report:report", "Report on one outage's notices, or on a whole year."),
    "serve": (
        f"{_CLI}.web:serve",
        "Serve the public web app: pages, feeds, CAP alerts and the banner.",
    ),
    "feeds": (
        f"{_CLI}.feeds:feeds",
        "The public feeds (RSS, Atom, iCalendar, CAP) and the website banner.",
    ),
}
cli.lazy.update(COMMANDS)


def main() -> None:
    cli(prog_name="outage-notify")
