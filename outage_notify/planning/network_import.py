"""``network import``: read an EPANET INP file with WNTR, add the utility's valve layer,
compute the valve segments once and store the network.

EPANET files carry control valves only, not the gate valves crews close, so those come from
the utility's GIS (``VALVES.csv`` with ``valve,pipe,node``, or GeoJSON Points with the same
properties); without them WNTR's strategic placement derives a layer, and the summary says so.
wntr is the optional ``network`` extra and is imported here only, never at due time.

Node coordinates: with ``crs`` they are turned from that system into WGS84 lon/lat (pyproj);
without it they are taken to be lon/lat already when every one is in range, and otherwise the
network is stored unlocated (customers are then linked only by their ``service_node``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session, col

from outage_notify import audit
from outage_notify.errors import InputError, OutageNotifyError
from outage_notify.models import (
    NetworkInfo,
    NetworkLink,
    NetworkNode,
    NetworkValve,
    Outage,
    OutagePipe,
    OutageStatus,
)
from outage_notify.planning.network_graph import SOURCE_KINDS, Graph, Link, Valve

INSTALL_HINT = "pip install 'outage-notify[network]'"
NAME_MAX = 64
# WNTR's strategic placement: every node keeps this many links without a valve (N-2), with a
# fixed seed so importing the same file twice gives the same layer.
STRATEGIC_FREE_LINKS, STRATEGIC_SEED = 2, 1
MAX_PROBLEMS_SHOWN = 50


class NetworkExtraMissing(OutageNotifyError):
    """wntr (the ``network`` extra) is not installed."""


def load_wntr() -> ModuleType:
    try:
        import wntr
    except ImportError:
        raise NetworkExtraMissing(
            f"network import needs WNTR, the optional `network` extra: {INSTALL_HINT}"
        ) from None
    return wntr


@dataclass
class NetworkDraft:
    file: str
    graph: Graph
    coordinates: dict[str, tuple[float, float]]
    valves_from: str  # file | strategic
    located: bool
    notes: list[str] = field(default_factory=list)


def read_network(
    path: Path, valves_path: Path | None = None, *, crs: str | None = None
) -> NetworkDraft:
    """Parse and check everything; InputError lists the problems (nothing is written)."""
    wntr = load_wntr()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        wn = wntr.network.WaterNetworkModel(str(path))
    except Exception as exc:  # wntr raises many kinds (ENSyntaxError, KeyError, ValueError)
        raise InputError(f"{path} is not an EPANET INP file WNTR can read: {exc}") from None
    graph = _graph(wn)
    problems = [f"{what} name {name!r} is longer than {NAME_MAX}" for what, name in _names(graph)]
    if not any(kind in SOURCE_KINDS for kind in graph.nodes.values()):
        problems.append("the network has no reservoir or tank: nothing would ever be supplied")
    notes: list[str] = []
    if valves_path is not None:
        graph.valves = read_valves(valves_path, graph, problems)
        valves_from = "file"
    else:
        layer = wntr.network.layer.generate_valve_layer(
            wn, "strategic", STRATEGIC_FREE_LINKS, seed=STRATEGIC_SEED
        )
        graph.valves = [
            Valve(f"V{i}", str(link), str(node))
            for i, (link, node) in enumerate(zip(layer["link"], layer["node"], strict=True), 1)
        ]
        valves_from = "strategic"
        notes.append(
            f"no --valves file: {len(graph.valves)} valves placed by WNTR's strategic N-"
            f"{STRATEGIC_FREE_LINKS} layer (seed {STRATEGIC_SEED}); import the utility's valve "
            "layer for real isolations"
        )
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        raise InputError(f"the network in {path} was not imported:", problems=shown)
    coordinates: dict[str, tuple[float, float]] = {
        str(name): (float(node.coordinates[0]), float(node.coordinates[1]))
        for name, node in wn.nodes()
    }
    located = True
    if crs is not None:
        coordinates = _to_lonlat(coordinates, crs)
    elif not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in coordinates.values()):
        located = False
        notes.append(
            "the coordinates are not longitude/latitude: stored as they are, and customers "
            "are linked only by service_node (pass --crs, e.g. --crs EPSG:2246, to locate it)"
        )
    graph.compute_segments()
    return NetworkDraft(str(path), graph, coordinates, valves_from, located, notes)


def _graph(wn: Any) -> Graph:
    nodes = {str(name): str(node.node_type).lower() for name, node in wn.nodes()}
    links = {}
    for name, link in wn.links():
        closed = str(getattr(link.initial_status, "name", link.initial_status)) == "Closed"
        links[str(name)] = Link(
            str(name),
            str(link.link_type).lower(),
            str(link.start_node_name),
            str(link.end_node_name),
            closed,
        )
    return Graph(nodes=nodes, links=links, valves=[])


def _names(graph: Graph) -> list[tuple[str, str]]:
    names = [("node", n) for n in graph.nodes] + [("link", k) for k in graph.links]
    return [(what, name) for what, name in names if len(name) > NAME_MAX]


def _to_lonlat(
    coordinates: dict[str, tuple[float, float]], crs: str
) -> dict[str, tuple[float, float]]:
    try:
        from pyproj import Transformer
        from pyproj.exceptions import CRSError
    except ImportError:
        raise NetworkExtraMissing(
            f"--crs needs pyproj, part of the extra: {INSTALL_HINT}"
        ) from None
    try:
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except CRSError as exc:
        raise InputError(
            f"--crs {crs}: not a coordinate reference system pyproj knows ({exc})"
        ) from None
    names = list(coordinates)
    xs, ys = transformer.transform(
        [coordinates[n][0] for n in names], [coordinates[n][1] for n in names]
    )
    return {n: (float(x), float(y)) for n, x, y in zip(names, xs, ys, strict=True)}


def read_valves(path: Path, graph: Graph, problems: list[str]) -> list[Valve]:
    """The valve layer from CSV (``valve,pipe,node``) or GeoJSON Points, checked against the
    network: each valve on an existing link, next to one of that link's end nodes."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    records = (
        _geojson_valves(path) if path.suffix.lower() in (".geojson", ".json") else _csv_valves(path)
    )
    valves: list[Valve] = []
    seen_names: set[str] = set()
    seen_places: set[tuple[str, str]] = set()
    for where, values in records:
        name, link, node = (str(values.get(k) or "").strip() for k in ("valve", "pipe", "node"))
        if not name or not link or not node:
            problems.append(f"{path} {where}: needs valve, pipe and node")
            continue
        if name in seen_names:
            problems.append(f"{path} {where}: valve {name} appears twice")
        elif link not in graph.links:
            problems.append(
                f"{path} {where}: valve {name} is on pipe {link}, which the network does not have"
            )
        elif node not in (graph.links[link].start, graph.links[link].end):
            problems.append(
                f"{path} {where}: valve {name}: node {node} is not an end of pipe {link}"
            )
        elif (link, node) in seen_places:
            problems.append(
                f"{path} {where}: valve {name}: pipe {link} already has a valve at {node}"
            )
        elif len(name) > NAME_MAX:
            problems.append(f"{path} {where}: valve name {name!r} is longer than {NAME_MAX}")
        else:
            valves.append(Valve(name, link, node))
            seen_places.add((link, node))
        seen_names.add(name)
    return valves


def _csv_valves(path: Path) -> list[tuple[str, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [c.strip().lower() for c in reader.fieldnames or []]
        if not {"valve", "pipe", "node"} <= set(header):
            raise InputError(f"{path}: the header must have the columns valve,pipe,node")
        reader.fieldnames = header
        return [(f"line {i}", row) for i, row in enumerate(reader, 2)]


def _geojson_valves(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not GeoJSON: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InputError(f"{path}: expected a FeatureCollection of valve Points")
    return [(f"feature {i}", dict(f.get("properties") or {})) for i, f in enumerate(features, 1)]


def store_network(
    session: Session, draft: NetworkDraft, *, utility: str, actor: str
) -> dict[str, Any]:
    """Replace the stored network with the draft; refuses when a planned outage works on a
    pipe the new network lacks."""
    graph = draft.graph
    planned = session.execute(
        select(col(OutagePipe.outage_id), col(OutagePipe.pipe))
        .join(Outage, col(Outage.id) == col(OutagePipe.outage_id))
        .where(col(Outage.status) == OutageStatus.PLANNED)
    ).all()
    missing = [
        f"planned outage #{o} works on pipe {p}, which the new network does not have"
        for o, p in planned
        if p not in graph.links
    ]
    if missing:
        raise InputError(f"the network in {draft.file} was not imported:", problems=missing)
    for table in (NetworkValve, NetworkLink, NetworkNode, NetworkInfo):
        session.execute(delete(table))
    session.add(
        NetworkInfo(
            file=draft.file[-500:],
            utility=utility,
            valves_from=draft.valves_from,
            located=draft.located,
        )
    )
    connection = session.connection()
    nodes = [
        {
            "name": n,
            "kind": kind,
            "x": draft.coordinates[n][0],
            "y": draft.coordinates[n][1],
            "segment": graph.node_segment[n],
        }
        for n, kind in graph.nodes.items()
    ]
    links = [
        {
            "name": k.name,
            "kind": k.kind,
            "start_node": k.start,
            "end_node": k.end,
            "closed": k.closed,
            "segment": graph.link_segment[k.name],
        }
        for k in graph.links.values()
    ]
    valves = [{"name": v.name, "link": v.link, "node": v.node} for v in graph.valves]
    for table, rows in ((NetworkNode, nodes), (NetworkLink, links), (NetworkValve, valves)):
        if rows:
            connection.execute(insert(table), rows)
    summary = describe_draft(draft, utility)
    audit.record(
        session,
        actor=actor,
        action="network.import",
        entity="network",
        entity_id=Path(draft.file).name[-64:],
        after=summary,
    )
    session.flush()
    return summary


def describe_draft(draft: NetworkDraft, utility: str) -> dict[str, Any]:
    graph = draft.graph
    kinds = list(graph.nodes.values())
    return {
        "file": draft.file,
        "utility": utility,
        "nodes": len(kinds),
        "junctions": sum(1 for k in kinds if k not in SOURCE_KINDS),
        "sources": sum(1 for k in kinds if k in SOURCE_KINDS),
        "links": len(graph.links),
        "closed_links": sum(1 for k in graph.links.values() if k.closed),
        "valves": len(graph.valves),
        "valves_from": draft.valves_from,
        "segments": len({*graph.node_segment.values(), *graph.link_segment.values()}),
        "located": draft.located,
        "notes": list(draft.notes),
    }
