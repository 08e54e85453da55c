"""The stored network and an isolation, as JSON-ready data for the CLI (and the API)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from outage_notify.errors import InputError
from outage_notify.planning import network_match
from outage_notify.planning.network_graph import SOURCE_KINDS, load_graph


def describe_network(session: Session) -> dict[str, Any] | None:
    info = network_match.network_info(session)
    if info is None:
        return None
    graph = load_graph(session)
    sizes = Counter([*graph.node_segment.values(), *graph.link_segment.values()])
    return {
        "file": info.file,
        "utility": info.utility,
        "imported_at": info.imported_at,
        "nodes": len(graph.nodes),
        "junctions": sum(1 for k in graph.nodes.values() if k not in SOURCE_KINDS),
        "sources": sorted(n for n, k in graph.nodes.items() if k in SOURCE_KINDS),
        "links": len(graph.links),
        "pipes": sum(1 for k in graph.links.values() if k.kind == "pipe"),
        "closed_links": sum(1 for k in graph.links.values() if k.closed),
        "closed": sorted(k.name for k in graph.links.values() if k.closed),
        "valves": len(graph.valves),
        "valves_from": info.valves_from,
        "segments": len(sizes),
        "largest_segment": max(sizes.values(), default=0),
        "located": info.located,
        "customers": network_match.link_report(session),
    }


def describe_isolation(session: Session, pipes: Sequence[str]) -> dict[str, Any] | None:
    """Valves to close, nodes and customers cut off (None: no network stored)."""
    if network_match.network_info(session) is None:
        return None
    graph = load_graph(session)
    unknown = [p for p in pipes if p not in graph.links]
    if unknown:
        raise InputError(
            "no such pipe in the network:",
            problems=[
                f"pipe {p} does not exist (see `outage-notify network show`)" for p in unknown
            ],
        )
    customers, isolation = network_match.cut_off_customer_ids(session, pipes)
    return {
        "pipes": isolation.pipes,
        "segments": isolation.segments,
        "valves": [{"valve": v.name, "pipe": v.link, "node": v.node} for v in isolation.valves],
        "segment_nodes": isolation.segment_nodes,
        "cut_off_nodes": isolation.cut_off_nodes,
        "affected_nodes": isolation.affected_nodes,
        "affected_links": isolation.affected_links,
        "customers": len(customers),
        "customer_ids": customers,
    }
