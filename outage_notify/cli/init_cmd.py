"""``outage-notify init``: create or migrate the database."""

from __future__ import annotations

import click

from outage_notify.cli.base import AppContext, echo_json, pass_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def init(app: AppContext, as_json: bool) -> None:
    """Create the database, or upgrade it to the current schema.

    Safe to run again: an up-to-date database is left as it is.

    Example:

        outage-notify init
    """
    from outage_notify import migrations  # imported on use: alembic

    database = app.new_database
    before = migrations.current_revision(database)
    migrations.upgrade(database)
    after = migrations.current_revision(database)
    result = {
        "database": database.engine.url.render_as_string(hide_password=True),
        "from_revision": before,
        "revision": after,
        "changed": before != after,
    }
    if as_json:
        echo_json(result)
    elif before == after:
        click.echo(f"Database is up to date (revision {after}).")
    elif before is None:
        click.echo(f"Created the database at revision {after}.")
    else:
        click.echo(f"Upgraded the database from revision {before} to {after}.")
