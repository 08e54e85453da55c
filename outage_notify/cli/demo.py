"""``outage-notify demo``: the whole flow on the bundled demo city, with no credentials."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import click

from outage_notify import areas, customers, migrations, optouts
from outage_notify.cli.base import AppContext, pass_app
from outage_notify.customer_import import import_customers
from outage_notify.db import Database

# The demo city (config/demo/, made by its generate.py), next to the package in a checkout.
DEMO_DATA = Path(__file__).resolve().parents[2] / "config" / "demo"


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
    if (DEMO_DATA / "areas.geojson").is_file():
        load_city(app, database)
    database.dispose()


def load_city(app: AppContext, database: Database) -> None:
    """The demo city's areas, customers and the residents who opted out."""
    drafts = areas.read_areas(DEMO_DATA / "areas.geojson")
    with database.session() as session:
        areas.import_areas(session, drafts, actor="demo")
    result = import_customers(
        database, DEMO_DATA / "customers.csv", settings=app.settings, actor="demo"
    )
    opted = 0
    with (DEMO_DATA / "opt_outs.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with database.session() as session:
        for row in rows:
            customer = customers.find_customer(session, row["account_id"])
            address = customer.phone if row["channel"] == "sms" else customer.email
            if address:  # as if the resident had replied STOP or unsubscribed
                opted += optouts.opt_out(
                    session, channel=row["channel"], address=address, source=row["channel"],
                    actor="demo",
                )  # fmt: skip
    click.echo(
        f"Demo city: {len(drafts)} service areas, {result.inserted} customers, {opted} opt-outs."
    )
