"""``outage-notify customers``: import, look up, opt out and back in.

Each command imports the planning wing as it runs, so ``--help`` loads none of it.
"""

from __future__ import annotations

from pathlib import Path

import click

from outage_notify import registry
from outage_notify.cli.base import AppContext, AppGroup, actor_option, echo_json, pass_app

CHANNEL_CHOICE = click.Choice(registry.names())


@click.group("customers", cls=AppGroup)
def customers_group() -> None:
    """Customers: the accounts notices go to, imported from the billing system's CSV.

    Example:

    \b
        outage-notify customers import customers.csv --skip-invalid
    """


@customers_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows; write the bad ones, with a reason column, to "
    "NAME.rejected.csv next to FILE.",
)
@actor_option()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def import_cmd(app: AppContext, file: Path, skip_invalid: bool, actor: str, as_json: bool) -> None:
    """Upsert customers from a CSV file, by account_id.

    Columns: account_id,name,phone,email,language,address,latitude,longitude,water_area,
    gas_area,channels,critical (UTF-8, with or without a BOM). Every row is checked first;
    by default one bad row rejects the file, every bad line is listed and nothing is
    written. Rows that did not change are left alone.

    Example:

    \b
        outage-notify customers import customers.csv --skip-invalid
    """
    # Imported here: rich's progress bar and the import pipeline are for this command only.
    from outage_notify.cli.progress import progress_bar
    from outage_notify.planning.customer_import import import_customers

    labels = {"check": "Checking rows", "write": "Writing"}
    with progress_bar(labels) as report:
        result = import_customers(
            app.database,
            file,
            settings=app.settings,
            actor=actor,
            skip_invalid=skip_invalid,
            progress=report,
        )
    if as_json:
        echo_json(result.summary())
        return
    click.echo(
        f"{file}: {result.rows} rows: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.rejected} rejected."
    )
    if result.missing_contact:
        click.echo(
            f"{result.missing_contact} ask for a channel they have no contact for: reached on "
            "the rest of their chosen channels."
        )
    if result.fallback:
        click.echo(
            f"{result.fallback} have no contact for any channel they chose: reached on every "
            "channel they have a contact for."
        )
    if result.rejects_file is not None and result.rejected:
        click.echo(f"Rejected rows and their reasons: {result.rejects_file}")


@customers_group.command("list")
@click.option("--area", metavar="CODE", help="Only customers whose water_area or gas_area is CODE.")
@click.option("--critical/--not-critical", default=None, help="Only (or no) critical customers.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the customers as JSON.")
@pass_app
def list_cmd(
    app: AppContext,
    area: str | None,
    critical: bool | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List customers by account_id, a page at a time.

    Example:

    \b
        outage-notify customers list --area W01 --critical
    """
    from outage_notify.planning import customers

    with app.database.read() as session:
        total = customers.count_customers(session, area=area, critical=critical)
        rows = [
            customers.describe_customer(c)
            for c in customers.list_customers(
                session, area=area, critical=critical, limit=limit, offset=offset
            )
        ]
    if as_json:
        echo_json({"total": total, "offset": offset, "customers": rows})
        return
    for row in rows:
        flags = " critical" if row["critical"] else ""
        areas = "/".join(a for a in (row["water_area"], row["gas_area"]) if a) or "-"
        contacts = ", ".join(c for c in (row["phone"], row["email"]) if c)
        click.echo(
            f"{row['account_id']}  {areas}  {row['language']}{flags}  {row['name']}  {contacts}"
        )
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
    click.echo(f"({shown} of {total})")


@customers_group.command("show")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Print the customer as JSON.")
@pass_app
def show_cmd(app: AppContext, account: str, as_json: bool) -> None:
    """Show one customer, with the channels their contacts opted out of.

    Example:

    \b
        outage-notify customers show A10023
    """
    from outage_notify.planning import customers

    with app.database.read() as session:
        customer = customers.find_customer(session, account)
        data = customers.describe_customer(customer, customers.customer_opt_outs(session, customer))
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:<14} {'' if shown is None else shown}")


def _opt_command(opted_out: bool) -> click.Command:
    @click.argument("target", metavar="ACCOUNT|PHONE|EMAIL")
    @click.option(
        "--channel",
        "channels",
        type=CHANNEL_CHOICE,
        multiple=True,
        help="sms, email or voice (repeatable). Default: each channel the account has a contact "
        "for.",
    )
    @actor_option()
    @pass_app
    def command(
        app: AppContext, target: str, channels: tuple[str, ...], actor: str, **extra: str | None
    ) -> None:
        from outage_notify.planning import customers

        with app.database.session() as session:
            changes = customers.set_opted_out(
                session,
                target,
                opted_out=opted_out,
                channels=list(channels),
                settings=app.settings,
                actor=actor,
                reason=extra.get("reason"),
            )
        for change in changes:
            who = f"account {change.account_id}" if change.account_id else change.address
            state = "opted out of" if opted_out else "opted back into"
            already = "" if change.changed else " (already so, nothing changed)"
            click.echo(f"{who}: {state} {change.channel}{already}")

    if opted_out:
        command = click.option("--reason", help="Why, for the audit log.")(command)
    return command


customers_group.command(
    "opt-out",
    help="""Stop notices to an account's contacts, or to a phone or email, on a channel.

    Recorded as a planner's opt-out and written to the audit log. The dispatcher checks
    opt-outs immediately before each send.

    Example:

    \b
        outage-notify customers opt-out A10023 --channel sms --reason "asked by phone"
    """,
)(_opt_command(opted_out=True))
customers_group.command(
    "opt-in",
    help="""Undo an opt-out: notices go to the contact on that channel again.

    Example:

    \b
        outage-notify customers opt-in +8613800138000 --channel sms
    """,
)(_opt_command(opted_out=False))
