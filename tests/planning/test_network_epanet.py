"""The isolation method against an EPANET hydraulic simulation, on the networks wntr ships.

How they are compared: the pipe's segment and its boundary valves are closed in the model
(a valve on link L at node N is closed by closing L, which cuts the same connections for the
nodes), controls are removed (our method takes pumps and control valves as open, and a
control could switch a pump off at t=0), and EPANET (``EpanetSimulator``, not WNTR's own
solver) runs one pressure-driven step. A junction with a positive demand that is served
less than a tenth of it is dry (see ``DRY``). Judged are the junctions with demand that are
wet when nothing is closed (ky10 has about 30 too high for its pressure even then): of
those, the ones dry after closing must be exactly the ones the isolation says are affected.
Junctions without demand cannot be judged by demand served and are left out.
"""

from __future__ import annotations

import random
import warnings
from importlib.resources import files
from pathlib import Path

import pytest

from outage_notify.planning.network_graph import isolate
from outage_notify.planning.network_import import read_network

wntr = pytest.importorskip("wntr")

PIPES_PER_NETWORK = 20
# Served below this share of its demand, a junction is dry. EPANET gives a junction cut off
# from every source a pressure of a few millimetres, not zero, and so a few per cent of its
# demand under the pressure-driven model: 10 % is a pressure of 0.2 m against the 20 m needed.
DRY = 0.1


def shipped(name: str) -> Path:
    return Path(str(files("wntr") / "library" / "networks" / f"{name}.inp"))


def dry_junctions(path: Path, closed: set[str], prefix: Path) -> tuple[set[str], set[str]]:
    """(junctions with demand, those EPANET leaves without water) with ``closed`` closed."""
    wn = wntr.network.WaterNetworkModel(str(path))
    wn.options.time.duration = 0
    wn.options.hydraulic.demand_model = "PDD"
    wn.options.hydraulic.required_pressure = 20.0
    wn.options.hydraulic.minimum_pressure = 0.0
    for control in list(wn.control_name_list):
        wn.remove_control(control)
    for link in closed:
        wn.get_link(link).initial_status = wntr.network.LinkStatus.Closed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(prefix))
    served = results.node["demand"].iloc[0]
    multiplier = wn.options.hydraulic.demand_multiplier
    demand = {
        name: wn.get_node(name).demand_timeseries_list.at(0, multiplier=multiplier)
        for name in wn.junction_name_list
    }
    demanding = {name for name, value in demand.items() if value > 0}
    return demanding, {name for name in demanding if served[name] < DRY * demand[name]}


@pytest.mark.slow
@pytest.mark.parametrize("network", ["Net3", "ky10"])
def test_the_isolation_matches_an_epanet_simulation(network: str, tmp_path: Path) -> None:
    path = shipped(network)
    graph = read_network(path).graph  # valves from WNTR's strategic layer (fixed seed)
    pipes = sorted(name for name, link in graph.links.items() if link.kind == "pipe")
    demanding, dry_anyway = dry_junctions(path, set(), tmp_path / f"{network}-open")
    judged = demanding - dry_anyway
    checked = 0
    for pipe in random.Random(16).sample(pipes, PIPES_PER_NETWORK):
        isolation = isolate(graph, [pipe])
        segments = set(isolation.segments)
        closed = {v.link for v in isolation.valves}
        closed |= {name for name, s in graph.link_segment.items() if s in segments}
        _demanding, dry = dry_junctions(path, closed, tmp_path / f"{network}-{pipe}")
        assert set(isolation.affected_nodes) & judged == dry & judged, pipe
        checked += bool(dry)
    assert checked >= PIPES_PER_NETWORK // 3  # most isolations leave somebody dry


@pytest.mark.slow
@pytest.mark.parametrize("network", ["Net3", "ky10"])
def test_our_segments_are_wntrs(network: str) -> None:
    import pandas as pd

    path = shipped(network)
    graph = read_network(path).graph
    layer = pd.DataFrame([(v.link, v.node) for v in graph.valves], columns=["link", "node"])
    wn = wntr.network.WaterNetworkModel(str(path))
    node_seg, link_seg, _sizes = wntr.metrics.topographic.valve_segments(wn.to_graph(), layer)

    def partition(*maps: dict[str, int]) -> set[frozenset[str]]:
        groups: dict[tuple[int, int], set[str]] = {}
        for i, mapping in enumerate(maps):
            for name, segment in mapping.items():
                groups.setdefault((i % 2, segment), set()).add(f"{i % 2}:{name}")
        merged: dict[int, set[str]] = {}
        for (_kind, segment), names in groups.items():
            merged.setdefault(segment, set()).update(names)
        return {frozenset(names) for names in merged.values()}

    ours = partition(graph.node_segment, graph.link_segment)
    theirs = partition(dict(node_seg.items()), dict(link_seg.items()))
    assert ours == theirs
