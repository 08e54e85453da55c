"""``outage-notify network``: import the pipe network, show it, and try an isolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from outage_notify.cli.base import AppContext, AppGroup, actor_option, echo_json, pass_app
from outage_notify.errors import NotFoundError
from outage_notify.states import UTILITIES


@click.group("network", cls=AppGroup)
def network_group() -> None:
    """The water network: target outages by the valves a crew closes, not by a polygon.

    Needs the optional extra for `network import` only: pip install 'outage-notify[network]'.

    Example:

    \b
        outage-notify network import city.inp --valves valves.csv
        outage-notify network isolate P-1024
    """


@network_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--valves",
    "valves",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="VALVES.csv|.geojson",
    help="The utility's isolation valves: valve,pipe,node (CSV or GeoJSON Point properties).",
)
@click.option("--utility", type=click.Choice(UTILITIES), default="water", show_default=True)
@click.option(
    "--crs",
    metavar="CRS",
    help="The INP coordinates' reference system (e.g. EPSG:2246); default: lon/lat.",
)
@actor_option()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def import_cmd(
    app: AppContext,
    file: Path,
    valves: Path | None,
    utility: str,
    crs: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Read an EPANET INP file, compute its valve segments and store it (replacing the
    network stored before).

    Without --valves, WNTR places valves strategically (N-2) and the summary says so. An INP
    file WNTR cannot read, a valve on a pipe the network lacks, or a network without a
    reservoir or tank is rejected and nothing is written.

    Example:

    \b
        outage-notify network import city.inp --valves valves.geojson --crs EPSG:2246
    """
    # Imported on use, as by the other network commands: WNTR, networkx, numpy, shapely.
    from outage_notify.planning import network_import

    draft = network_import.read_network(file, valves, crs=crs)
    with app.database.session() as session:
        summary = network_import.store_network(session, draft, utility=utility, actor=actor)
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"{file}: {summary['junctions']} junctions, {summary['sources']} sources, "
        f"{summary['links']} links ({summary['closed_links']} closed), {summary['valves']} "
        f"valves ({summary['valves_from']}), {summary['segments']} segments."
    )
    for note in summary["notes"]:
        click.echo(f"Note: {note}")


@network_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the network as JSON.")
@pass_app
def show_cmd(app: AppContext, as_json: bool) -> None:
    """The stored network: nodes, pipes, valves, segments, sources, and how customers are
    linked to it (by service_node, or to the nearest pipe and how far).

    Example:

    \b
        outage-notify network show --json
    """
    from outage_notify.planning import network_views

    with app.database.read() as session:
        data = network_views.describe_network(session)
    if as_json:
        echo_json(data)
        return
    if data is None:
        click.echo("No network yet: import one with `outage-notify network import FILE.inp`.")
        return
    click.echo(
        f"{data['file']} ({data['utility']}): {data['junctions']} junctions, "
        f"{len(data['sources'])} sources ({', '.join(data['sources'])}), {data['links']} links "
        f"({data['closed_links']} closed), {data['valves']} valves ({data['valves_from']}), "
        f"{data['segments']} segments (largest {data['largest_segment']} elements)"
    )
    links = data["customers"]
    near = links["by_nearest_pipe"]
    far = f", median {near['median_m']} m, max {near['max_m']} m" if near.get("median_m") else ""
    click.echo(
        f"Customers: {links['by_service_node']} by service_node "
        f"({links['service_node_unknown']} naming no node), {near['linked']} by nearest pipe"
        f"{far}, {near['too_far']} farther than {links['radius_m']:g} m, "
        f"{links['no_location']} without a location"
    )
    if not data["located"]:
        click.echo("Note: the network has no lon/lat: only service_node links customers.")


@network_group.command("isolate")
@click.argument("pipe", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the isolation as JSON.")
@pass_app
def isolate_cmd(app: AppContext, pipe: tuple[str, ...], as_json: bool) -> None:
    """Which valves to close to work on PIPE, and which nodes and customers lose water.

    Computed from the stored network: the pipe's segment is closed off at its boundary
    valves; the junctions inside it and every junction no longer joined to a reservoir or
    tank are cut off.

    Example:

    \b
        outage-notify network isolate P-1024 --json
    """
    from outage_notify.planning import network_views

    with app.database.read() as session:
        data = network_views.describe_isolation(session, list(pipe))
    if data is None:
        raise NotFoundError("no network yet: import one with `outage-notify network import`")
    if as_json:
        echo_json(data)
        return
    _echo_isolation(data)


def _echo_isolation(data: dict[str, Any]) -> None:
    valves = ", ".join(f"{v['valve']} ({v['pipe']} at {v['node']})" for v in data["valves"])
    click.echo(f"Close {len(data['valves'])} valve(s): {valves or 'none'}")
    click.echo(
        f"Cut off: {len(data['segment_nodes'])} junction(s) in segment(s) "
        f"{', '.join(map(str, data['segments']))}, {len(data['cut_off_nodes'])} more without "
        f"a source; {data['customers']} customer(s)"
    )
    if data["affected_nodes"]:
        click.echo("Nodes: " + ", ".join(data["affected_nodes"]))
