"""``outage-notify demo``: the whole flow on the bundled demo city, with no credentials."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from outage_notify import migrations
from outage_notify.cli.base import AppContext, pass_app
from outage_notify.db import Database


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-run"),
    show_default=True,
    help="Where the demo database, outbox and exported feeds go (recreated).",
)
@pass_app
def demo(app: AppContext, directory: Path) -> None:
    """Run the whole flow on a bundled demo city with SQLite and the file backends.

    Needs no credentials and no services. Everything goes under DIR.

    Example:

        outage-notify demo --dir demo-run
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = Database(f"sqlite:///{directory / 'outage-notify.db'}")
    migrations.upgrade(database)
    click.echo(
        f"Demo database created at {directory / 'outage-notify.db'} "
        f"(schema revision {migrations.current_revision(database)})."
    )
    database.dispose()
