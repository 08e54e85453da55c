"""``outage-notify areas``: import and list service areas."""

from __future__ import annotations

from pathlib import Path

import click

from outage_notify.cli.base import AppContext, AppGroup, actor_option, echo_json, pass_app
from outage_notify.states import UTILITIES


@click.group("areas", cls=AppGroup)
def areas_group() -> None:
    """Service areas: the polygons outages are planned by.

    Example:

    \b
        outage-notify areas import city-areas.geojson
    """


@areas_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@actor_option()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def import_cmd(app: AppContext, file: Path, actor: str, as_json: bool) -> None:
    """Upsert service areas from a GeoJSON FeatureCollection, by code.

    Each Feature needs the properties code, name and utility (water or gas), optionally
    name_en, and a Polygon or MultiPolygon in WGS84 longitude/latitude. The whole file is
    checked first: one bad feature rejects the file and nothing is written.

    Example:

    \b
        outage-notify areas import city-areas.geojson
    """
    from outage_notify.planning import areas  # imported on use: shapely

    drafts = areas.read_areas(file)
    with app.database.session() as session:
        result = areas.import_areas(session, drafts, actor=actor)
    summary = result.summary()
    if as_json:
        echo_json({"file": str(file), **summary})
        return
    click.echo(
        f"{file}: {summary['inserted']} inserted, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged."
    )


@areas_group.command("list")
@click.option("--utility", type=click.Choice(UTILITIES), help="Only this utility's areas.")
@click.option("--json", "as_json", is_flag=True, help="Print the areas as JSON.")
@pass_app
def list_cmd(app: AppContext, utility: str | None, as_json: bool) -> None:
    """List the service areas with the number of customers whose accounts name them.

    Example:

    \b
        outage-notify areas list --utility water
    """
    from outage_notify.planning import areas

    with app.database.read() as session:
        counts = areas.customer_counts(session)
        data = [
            areas.describe_area(a, counts.get((a.utility, a.code), 0))
            for a in areas.list_areas(session, utility=utility)
        ]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("No service areas yet: import some with `outage-notify areas import FILE`.")
        return
    width = max(len(a["code"]) for a in data)
    for area in data:
        name = area["name"] + (f" / {area['name_en']}" if area["name_en"] else "")
        click.echo(
            f"{area['code']:<{width}}  {area['utility']:<5}  {area['customers']:>8} customers  "
            f"{name}"
        )
