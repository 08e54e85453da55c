"""Valve segments and isolation on hand-made graphs (plain Python: no wntr needed)."""

from __future__ import annotations

from outage_notify.planning.network_graph import Graph, Link, Valve, isolate, segments

# R - P1 - J1 - P2 - J2 - P3 - J3 - P4 - J4 - P6 - J6 - P7 (closed) - J1;  J2 - P5 - J5
LINKS = [
    Link("P1", "pipe", "R", "J1"),
    Link("P2", "pipe", "J1", "J2"),
    Link("P3", "pipe", "J2", "J3"),
    Link("P4", "pipe", "J3", "J4"),
    Link("P5", "pipe", "J2", "J5"),
    Link("P6", "pipe", "J4", "J6"),
    Link("P7", "pipe", "J6", "J1", closed=True),
]
VALVES = [
    Valve("V1", "P2", "J1"),
    Valve("V2", "P3", "J2"),
    Valve("V3", "P4", "J4"),
    Valve("V4", "P7", "J1"),
]


def tiny(links: list[Link] = LINKS, valves: list[Valve] = VALVES) -> Graph:
    nodes = {"R": "reservoir", **{f"J{i}": "junction" for i in range(1, 7)}}
    graph = Graph(nodes=nodes, links={k.name: k for k in links}, valves=list(valves))
    graph.compute_segments()
    return graph


def groups(graph: Graph) -> set[frozenset[str]]:
    by: dict[int, set[str]] = {}
    for name, segment in [*graph.node_segment.items(), *graph.link_segment.items()]:
        by.setdefault(segment, set()).add(name)
    return {frozenset(g) for g in by.values()}


def test_a_valve_separates_its_pipe_from_its_node() -> None:
    assert groups(tiny()) == {
        frozenset({"R", "P1", "J1"}),
        frozenset({"P2", "J2", "P5", "J5"}),
        frozenset({"P3", "J3", "P4"}),
        frozenset({"J4", "P6", "J6", "P7"}),
    }


def test_a_pipe_with_valves_at_both_ends_is_a_segment_of_its_own() -> None:
    node_segment, link_segment = segments(
        ["A", "B"], [Link("P", "pipe", "A", "B")], [Valve("1", "P", "A"), Valve("2", "P", "B")]
    )
    assert len({*node_segment.values(), *link_segment.values()}) == 3


def test_isolating_closes_the_boundary_valves_and_cuts_off_what_lies_beyond() -> None:
    isolation = isolate(tiny(), ["P2"])
    assert [v.name for v in isolation.valves] == ["V1", "V2"]
    assert isolation.segment_nodes == ["J2", "J5"]
    # P7 is closed in the INP file and stays closed: nothing feeds J3, J4, J6 any more.
    assert isolation.cut_off_nodes == ["J3", "J4", "J6"]
    assert isolation.affected_links == ["P2", "P3", "P4", "P5", "P6", "P7"]


def test_an_open_loop_keeps_supplying_what_lies_beyond() -> None:
    looped = [k if k.name != "P7" else Link("P7", "pipe", "J6", "J1") for k in LINKS]
    isolation = isolate(tiny(looped), ["P2"])
    assert isolation.segment_nodes == ["J2", "J5"]
    assert isolation.cut_off_nodes == []


def test_isolating_two_pipes_closes_the_union_of_their_segments() -> None:
    isolation = isolate(tiny(), ["P3", "P5"])
    assert isolation.affected_nodes == ["J2", "J3", "J4", "J5", "J6"]
    # V2 lies between two closed segments: closing it is not needed.
    assert [v.name for v in isolation.valves] == ["V1", "V3"]


def test_a_segment_holding_the_source_cuts_off_everything_it_fed() -> None:
    isolation = isolate(tiny(), ["P1"])
    assert isolation.segment_nodes == ["J1"]
    assert isolation.cut_off_nodes == ["J2", "J3", "J4", "J5", "J6"]


def test_a_junction_already_dry_behind_a_closed_pipe_is_not_any_works_doing() -> None:
    nodes = {"R": "reservoir", **{f"J{i}": "junction" for i in range(1, 8)}}
    links = [*LINKS, Link("P8", "pipe", "J4", "J7", closed=True)]
    graph = Graph(nodes=nodes, links={k.name: k for k in links}, valves=list(VALVES))
    graph.compute_segments()
    assert "J7" not in isolate(graph, ["P2"]).affected_nodes
