"""Which customers a network outage cuts off, and how customers are tied to the network.

A customer is tied to the network by its ``service_node`` (a junction or a pipe) when the
customers CSV gives one; otherwise, when the network is located (lon/lat), to the nearest
pipe within ``LINK_RADIUS_M`` of the premise (a shapely STRtree over the pipes, in metres of
a local equirectangular projection, which is exact enough at a city's scale). A customer is
affected when its junction is cut off, or its pipe is in an isolated segment or touches a
junction that is cut off. Plain shapely and SQL: no wntr at due time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import and_, select
from sqlmodel import Session, col

from outage_notify.errors import Problem
from outage_notify.models import Customer, NetworkInfo, NetworkNode, OutagePipe
from outage_notify.planning.network_graph import Graph, Isolation, isolate, load_graph

LINK_RADIUS_M = 250.0  # a premise farther than this from every pipe is not linked by location
_METRES_PER_DEGREE = 111_320.0
_ID_CHUNK = 5_000


def network_info(session: Session) -> NetworkInfo | None:
    return session.exec(select(NetworkInfo)).scalars().first()  # type: ignore[call-overload]


def outage_pipes(session: Session, outage_id: int | None) -> list[str]:
    if outage_id is None:
        return []
    rows = session.execute(
        select(col(OutagePipe.pipe))
        .where(col(OutagePipe.outage_id) == outage_id)
        .order_by(col(OutagePipe.id))
    )
    return [pipe for (pipe,) in rows]


def check_pipes(session: Session, pipes: Sequence[str], utility: str) -> list[str]:
    """Problems with an outage's ``--pipe`` list (empty: fine)."""
    if not pipes:
        return []
    info = network_info(session)
    if info is None:
        return [
            Problem("no network imported: run `outage-notify network import FILE.inp`", "pipes")
        ]
    problems: list[str] = []
    if info.utility != utility:
        problems.append(Problem(f"the network is a {info.utility} network, not {utility}", "pipes"))
    known = load_graph(session).links
    problems += [
        Problem(f"pipe {p} is not in the network (see `outage-notify network show`)", "pipes")
        for p in pipes
        if p not in known
    ]
    return problems


@dataclass
class Placed:
    """The located network: pipes as lines in local metres, for nearest-pipe linking."""

    names: list[str]
    tree: shapely.STRtree
    lat0: float

    def metres(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scale = _METRES_PER_DEGREE * math.cos(math.radians(self.lat0))
        return lon * scale, lat * _METRES_PER_DEGREE


def placed_network(session: Session, graph: Graph) -> Placed | None:
    info = network_info(session)
    if info is None or not info.located or not graph.links:
        return None
    rows = session.execute(select(col(NetworkNode.name), col(NetworkNode.x), col(NetworkNode.y)))
    where = {name: (x, y) for name, x, y in rows}
    lat0 = float(np.mean([y for _x, y in where.values()]))
    scale = _METRES_PER_DEGREE * math.cos(math.radians(lat0))
    names = list(graph.links)
    lines = [
        shapely.LineString(
            [
                (where[k.start][0] * scale, where[k.start][1] * _METRES_PER_DEGREE),
                (where[k.end][0] * scale, where[k.end][1] * _METRES_PER_DEGREE),
            ]
        )
        for k in (graph.links[n] for n in names)
    ]
    return Placed(names, shapely.STRtree(lines), lat0)


def nearest_links(
    placed: Placed, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index into ``placed.names`` of its nearest pipe within the radius
    (-1: none) and the distance in metres."""
    x, y = placed.metres(lon, lat)
    points = shapely.points(x, y)
    found, distances = placed.tree.query_nearest(
        points, max_distance=LINK_RADIUS_M, return_distance=True, all_matches=False
    )
    index = np.full(len(points), -1, dtype=np.int64)
    distance = np.full(len(points), np.nan)
    index[found[0]] = found[1]
    distance[found[0]] = distances
    return index, distance


def cut_off_customer_ids(
    session: Session, pipes: Sequence[str], *, critical_only: bool = False
) -> tuple[list[int], Isolation]:
    """The ids of the customers that isolating ``pipes`` leaves without water."""
    graph = load_graph(session)
    isolation = isolate(graph, [p for p in pipes if p in graph.links])
    affected_links = set(isolation.affected_links)
    elements = [*isolation.affected_nodes, *affected_links]
    extra = [col(Customer.critical).is_(True)] if critical_only else []
    connection = session.connection()
    ids: set[int] = set()
    for start in range(0, len(elements), _ID_CHUNK):
        chunk = elements[start : start + _ID_CHUNK]
        query = select(col(Customer.id)).where(col(Customer.service_node).in_(chunk), *extra)
        ids.update(i for (i,) in connection.execute(query) if i is not None)
    placed = placed_network(session, graph)
    if placed is not None and affected_links:
        ids.update(_nearby_ids(session, graph, placed, affected_links, extra))
    return sorted(ids), isolation


def _nearby_ids(
    session: Session, graph: Graph, placed: Placed, affected: set[str], extra: list[Any]
) -> list[int]:
    """Customers without a service_node whose nearest pipe is an affected one: only those
    within the radius of the affected pipes' bounding box are read."""
    rows = session.execute(select(col(NetworkNode.name), col(NetworkNode.x), col(NetworkNode.y)))
    where = {name: (x, y) for name, x, y in rows}
    ends = [where[n] for k in affected for n in (graph.links[k].start, graph.links[k].end)]
    margin_lat = LINK_RADIUS_M / _METRES_PER_DEGREE
    margin_lon = margin_lat / max(math.cos(math.radians(placed.lat0)), 1e-6)
    box = and_(
        col(Customer.longitude).between(
            min(x for x, _ in ends) - margin_lon, max(x for x, _ in ends) + margin_lon
        ),
        col(Customer.latitude).between(
            min(y for _, y in ends) - margin_lat, max(y for _, y in ends) + margin_lat
        ),
    )
    query = select(col(Customer.id), col(Customer.longitude), col(Customer.latitude)).where(
        col(Customer.service_node).is_(None), box, *extra
    )
    table = np.array([tuple(r) for r in session.connection().execute(query)], dtype=np.float64)
    if not len(table):
        return []
    index, _distance = nearest_links(placed, table[:, 1], table[:, 2])
    hit = np.array([i >= 0 and placed.names[i] in affected for i in index.tolist()], dtype=bool)
    return [int(i) for i in table[hit, 0]]


def link_report(session: Session) -> dict[str, Any]:
    """How customers are tied to the network: by service_node, by nearest pipe (and how far),
    or not at all."""
    graph = load_graph(session)
    connection = session.connection()
    by_node = Counter[str]()
    for (node,) in connection.execute(
        select(col(Customer.service_node)).where(col(Customer.service_node).is_not(None))
    ):
        by_node["known" if node in graph.nodes or node in graph.links else "unknown"] += 1
    located = connection.execute(
        select(col(Customer.longitude), col(Customer.latitude)).where(
            col(Customer.service_node).is_(None), col(Customer.longitude).is_not(None)
        )
    ).all()
    without = connection.execute(
        select(col(Customer.id)).where(
            col(Customer.service_node).is_(None), col(Customer.longitude).is_(None)
        )
    ).all()
    placed = placed_network(session, graph)
    nearest: dict[str, Any] = {"linked": 0, "too_far": len(located)}
    if placed is not None and located:
        table = np.array([tuple(r) for r in located], dtype=np.float64)
        _index, distance = nearest_links(placed, table[:, 0], table[:, 1])
        linked = distance[~np.isnan(distance)]
        nearest = {
            "linked": len(linked),
            "too_far": int(len(table) - len(linked)),
            "median_m": round(float(np.median(linked)), 1) if len(linked) else None,
            "p95_m": round(float(np.percentile(linked, 95)), 1) if len(linked) else None,
            "max_m": round(float(linked.max()), 1) if len(linked) else None,
        }
    return {
        "by_service_node": by_node["known"],
        "service_node_unknown": by_node["unknown"],
        "by_nearest_pipe": nearest,
        "radius_m": LINK_RADIUS_M,
        "no_location": len(without),
    }


# The hull is widened by this much (about 50 m), so premises beside its outermost junctions
# fall inside it and a single junction or a line of them still makes a polygon.
HULL_MARGIN_DEGREES = 0.0005


def outage_hulls(
    session: Session, outage_ids: Sequence[int]
) -> dict[int, tuple[tuple[tuple[tuple[float, float], ...], ...], ...]]:
    """For each network outage among ``outage_ids``: the polygons (lon/lat rings) of the
    concave hull of the nodes its isolation cuts off, for feeds, CAP and the public map.
    Outages planned by area only, and an unlocated network, give none."""
    pipes: dict[int, list[str]] = {}
    rows = session.execute(
        select(col(OutagePipe.outage_id), col(OutagePipe.pipe)).where(
            col(OutagePipe.outage_id).in_(list(outage_ids))
        )
    )
    for outage_id, pipe in rows:
        pipes.setdefault(outage_id, []).append(pipe)
    info = network_info(session) if pipes else None
    if info is None or not info.located:
        return {}
    graph = load_graph(session)
    where = {
        name: (x, y)
        for name, x, y in session.execute(
            select(col(NetworkNode.name), col(NetworkNode.x), col(NetworkNode.y))
        )
    }
    hulls = {}
    for outage_id, worked_on in pipes.items():
        isolation = isolate(graph, [p for p in worked_on if p in graph.links])
        ends = [n for p in isolation.pipes for n in (graph.links[p].start, graph.links[p].end)]
        points = [where[n] for n in dict.fromkeys([*isolation.affected_nodes, *ends])]
        if not points:
            continue
        hull = shapely.concave_hull(shapely.multipoints(points), ratio=0.5)
        area = hull.buffer(HULL_MARGIN_DEGREES, quad_segs=2)
        polygons = list(getattr(area, "geoms", [area]))
        hulls[outage_id] = tuple(
            tuple(
                tuple((round(x, 6), round(y, 6)) for x, y in ring.coords)
                for ring in (polygon.exterior, *polygon.interiors)
            )
            for polygon in polygons
        )
    return hulls
