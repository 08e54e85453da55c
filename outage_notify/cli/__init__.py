"""The ``outage-notify`` command line: thin, it parses, calls the core and prints.

Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

from outage_notify.cli.areas import areas_group
from outage_notify.cli.base import AppGroup, cli
from outage_notify.cli.customers import customers_group
from outage_notify.cli.delivery import dispatch, run
from outage_notify.cli.demo import demo
from outage_notify.cli.email_cmd import email_group
from outage_notify.cli.feeds import feeds
from outage_notify.cli.init_cmd import init
from outage_notify.cli.network import network_group
from outage_notify.cli.outage_lifecycle import outages_group  # with the lifecycle commands
from outage_notify.cli.report import report
from outage_notify.cli.sources import sources_group
from outage_notify.cli.web import serve

__all__ = ["AppGroup", "cli", "main"]

cli.add_command(init)
cli.add_command(demo)
cli.add_command(dispatch)
cli.add_command(run)
cli.add_command(areas_group)
cli.add_command(customers_group)
cli.add_command(outages_group)
cli.add_command(network_group)
cli.add_command(email_group)
cli.add_command(report)
cli.add_command(serve)
cli.add_command(feeds)
cli.add_command(sources_group)


def main() -> None:
    cli(prog_name="outage-notify")
