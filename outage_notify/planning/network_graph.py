"""The pipe network as a graph: valve segments and what isolating a pipe cuts off.

Plain Python over the stored rows (no wntr, no networkx): the daemon and ``outages preview``
match recipients with this at due time, and wntr is an optional extra that only
``network import`` needs.

Segments follow WNTR's definition (``wntr.metrics.valve_segments``): a valve on link L next
to node N separates L from N; a segment is a set of nodes and links still joined once every
valve is closed. Isolating a pipe closes the valves on its segment's boundary; the nodes cut
off are the segment's own junctions plus every junction no longer joined to a reservoir or
tank (links closed in the INP file stay closed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session, col

from outage_notify.models import NetworkLink, NetworkNode, NetworkValve

SOURCE_KINDS = frozenset({"reservoir", "tank"})


@dataclass(frozen=True)
class Link:
    name: str
    kind: str
    start: str
    end: str
    closed: bool = False


@dataclass(frozen=True)
class Valve:
    name: str
    link: str
    node: str


@dataclass
class Graph:
    """Nodes (name -> kind), links and valves, with each node's and link's segment."""

    nodes: dict[str, str]
    links: dict[str, Link]
    valves: list[Valve]
    node_segment: dict[str, int] = field(default_factory=dict)
    link_segment: dict[str, int] = field(default_factory=dict)

    def compute_segments(self) -> None:
        self.node_segment, self.link_segment = segments(
            self.nodes, self.links.values(), self.valves
        )


def segments(
    nodes: Iterable[str], links: Iterable[Link], valves: Iterable[Valve]
) -> tuple[dict[str, int], dict[str, int]]:
    """Each node's and link's segment number (1, 2, ... in the order nodes are given).

    A union-find over nodes and links: a link joins each of its end nodes unless a valve
    sits between them. Linear in the network's size, where WNTR's own version filters the
    valve table once per link.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(item: tuple[str, str]) -> tuple[str, str]:
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:  # path compression
            parent[item], item = root, parent[item]
        return root

    node_list = list(nodes)
    link_list = list(links)
    for name in node_list:
        parent[("N", name)] = ("N", name)
    for link in link_list:
        parent[("L", link.name)] = ("L", link.name)
    valved = {(v.link, v.node) for v in valves}
    for link in link_list:
        for end in (link.start, link.end):
            if (link.name, end) not in valved:
                a, b = find(("L", link.name)), find(("N", end))
                if a != b:
                    parent[a] = b
    numbers: dict[tuple[str, str], int] = {}
    node_segment = {n: numbers.setdefault(find(("N", n)), len(numbers) + 1) for n in node_list}
    link_segment = {
        k.name: numbers.setdefault(find(("L", k.name)), len(numbers) + 1) for k in link_list
    }
    return node_segment, link_segment


@dataclass
class Isolation:
    """What closing valves around some pipes does."""

    pipes: list[str]
    segments: list[int]
    valves: list[Valve]  # to close: the boundary of the pipes' segments
    segment_nodes: list[str]  # junctions inside the isolated segments
    cut_off_nodes: list[str]  # junctions outside them left without a source
    affected_links: list[str]

    @property
    def affected_nodes(self) -> list[str]:
        return sorted({*self.segment_nodes, *self.cut_off_nodes})


def isolate(graph: Graph, pipes: Sequence[str]) -> Isolation:
    """Close the valves around ``pipes``' segments and see which junctions lose supply."""
    chosen = sorted({graph.link_segment[p] for p in pipes})
    closed = set(chosen)
    boundary = [
        v
        for v in graph.valves
        if (graph.link_segment[v.link] in closed) != (graph.node_segment[v.node] in closed)
    ]
    inside = {n for n, s in graph.node_segment.items() if s in closed}
    reached = _supplied(graph, closed, inside)
    # A junction no source reaches even with every valve open (behind a link closed in the
    # INP file) is not this work's doing: it is left out rather than told on every outage.
    supplied_anyway = _supplied(graph, set(), set()) if closed else reached
    junctions = [n for n, kind in graph.nodes.items() if kind not in SOURCE_KINDS]
    cut_off = sorted(
        n for n in junctions if n not in inside and n not in reached and n in supplied_anyway
    )
    dry = set(cut_off)
    affected_links = sorted(
        k.name
        for k in graph.links.values()
        if graph.link_segment[k.name] in closed or k.start in dry or k.end in dry
    )
    return Isolation(
        pipes=list(dict.fromkeys(pipes)),
        segments=chosen,
        valves=sorted(boundary, key=lambda v: v.name),
        segment_nodes=sorted(n for n in inside if graph.nodes[n] not in SOURCE_KINDS),
        cut_off_nodes=cut_off,
        affected_links=affected_links,
    )


def _supplied(graph: Graph, closed: set[int], inside: set[str]) -> set[str]:
    """The nodes joined to a source with the ``closed`` segments (holding ``inside``) shut."""
    adjacency: dict[str, list[str]] = {}
    for link in graph.links.values():
        if link.closed or graph.link_segment[link.name] in closed:
            continue
        if link.start in inside or link.end in inside:
            continue  # a closed boundary valve sits between this link and that node
        adjacency.setdefault(link.start, []).append(link.end)
        adjacency.setdefault(link.end, []).append(link.start)
    reached = {n for n, kind in graph.nodes.items() if kind in SOURCE_KINDS and n not in inside}
    queue = deque(reached)
    while queue:
        for neighbour in adjacency.get(queue.popleft(), ()):
            if neighbour not in reached:
                reached.add(neighbour)
                queue.append(neighbour)
    return reached


def load_graph(session: Session) -> Graph:
    """The stored network with its stored segments (empty when none was imported)."""
    connection = session.connection()
    graph = Graph(nodes={}, links={}, valves=[])
    node_rows = connection.execute(
        select(col(NetworkNode.name), col(NetworkNode.kind), col(NetworkNode.segment))
    ).all()
    for name, kind, segment in node_rows:
        graph.nodes[name] = kind
        graph.node_segment[name] = segment
    link_rows = connection.execute(
        select(
            col(NetworkLink.name),
            col(NetworkLink.kind),
            col(NetworkLink.start_node),
            col(NetworkLink.end_node),
            col(NetworkLink.closed),
            col(NetworkLink.segment),
        )
    ).all()
    for name, kind, start, end, is_closed, segment in link_rows:
        graph.links[name] = Link(name, kind, start, end, bool(is_closed))
        graph.link_segment[name] = segment
    valve_rows = connection.execute(
        select(col(NetworkValve.name), col(NetworkValve.link), col(NetworkValve.node))
    ).all()
    graph.valves = [Valve(*row) for row in valve_rows]
    return graph
