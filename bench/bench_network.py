"""Valve segments and one isolation, on ky10 (shipped with wntr) and on a generated grid.

The figures: seconds for our ``segments()`` (a union-find over nodes and links) and for
``isolate()`` (boundary valves and a BFS from the sources over the stored graph), and for the
isolation as the daemon runs it (the graph read back from SQLite first). The baselines, in the
same run on the same valve layer: ``wntr.metrics.valve_segments`` on ``wn.to_graph()``, and the
same isolation in bare networkx (drop the segment, ``multi_source`` BFS via
``nx.node_connected_component`` from each source). Needs the ``network`` extra.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from outage_notify import migrations
from outage_notify.db import Database
from outage_notify.planning.network_graph import SOURCE_KINDS, Graph, isolate, load_graph, segments
from outage_notify.planning.network_import import NetworkDraft, read_network, store_network

GRID = 50  # the generated network: GRID x GRID junctions, about 2 * GRID^2 pipes
REPEAT = 3


def best(run: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def grid_inp(path: Path, size: int) -> Path:
    """A square grid with a reservoir at one corner and a tank at the opposite one."""
    junctions = [f" J{r}_{c} 10 1" for r in range(size) for c in range(size)]
    pipes = []
    for r in range(size):
        for c in range(size):
            if c + 1 < size:
                pipes.append(f" H{r}_{c} J{r}_{c} J{r}_{c + 1} 100 200 100 0 Open")
            if r + 1 < size:
                pipes.append(f" V{r}_{c} J{r}_{c} J{r + 1}_{c} 100 200 100 0 Open")
    pipes.append(" PR R J0_0 100 300 100 0 Open")
    pipes.append(f" PT T J{size - 1}_{size - 1} 100 300 100 0 Open")
    coordinates = [f" J{r}_{c} {c} {r}" for r in range(size) for c in range(size)]
    coordinates += [" R -1 0", f" T {size} {size - 1}"]
    path.write_text(
        "\n".join(
            [
                "[JUNCTIONS]",
                *junctions,
                "[RESERVOIRS]",
                " R 60",
                "[TANKS]",
                " T 20 5 0 10 20 0",
                "[PIPES]",
                *pipes,
                "[OPTIONS]",
                " Units LPS",
                " Headloss H-W",
                "[COORDINATES]",
                *coordinates,
                "[END]",
                "",
            ]
        )
    )
    return path


def networkx_isolation(wn: Any, graph: Graph, pipe: str) -> set[str]:
    """The same isolation in bare networkx, on WNTR's graph."""
    import networkx as nx

    segment = graph.link_segment[pipe]
    undirected = nx.MultiGraph(wn.to_graph())
    inside = [n for n, s in graph.node_segment.items() if s == segment]
    undirected.remove_nodes_from(inside)
    closed = [
        (u, v, k)
        for u, v, k in undirected.edges(keys=True)
        if graph.link_segment[k] == segment or graph.links[k].closed
    ]
    undirected.remove_edges_from(closed)
    reached: set[str] = set()
    for source in (n for n, kind in graph.nodes.items() if kind in SOURCE_KINDS):
        if source in undirected and source not in reached:
            reached |= nx.node_connected_component(undirected, source)
    junctions = {n for n, kind in graph.nodes.items() if kind not in SOURCE_KINDS}
    return (junctions - reached) | (set(inside) & junctions)


def run_one(label: str, path: Path, pipe: str) -> None:
    import pandas as pd
    import wntr

    draft: NetworkDraft = read_network(path)
    graph = draft.graph
    wn = wntr.network.WaterNetworkModel(str(path))
    layer = pd.DataFrame([(v.link, v.node) for v in graph.valves], columns=["link", "node"])
    ours_s, _ = best(lambda: segments(graph.nodes, graph.links.values(), graph.valves))
    # Once: WNTR's takes minutes on the grid (it filters the valve table once per link and
    # looks names up in a list).
    wntr_s, _ = best(lambda: wntr.metrics.topographic.valve_segments(wn.to_graph(), layer), 1)
    ours_i, isolation = best(lambda: isolate(graph, [pipe]))
    nx_i, cut = best(lambda: networkx_isolation(wn, graph, pipe))
    assert set(isolation.affected_nodes) == cut, "the two isolations disagree"
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrations.upgrade(database)
        with database.session() as session:
            store_network(session, draft, utility="water", actor="bench")

        def stored() -> Any:
            with database.read() as session:
                return isolate(load_graph(session), [pipe])

        stored_i, _ = best(stored)
        database.dispose()
    print(
        f"{label}: {len(graph.nodes)} nodes, {len(graph.links)} links, {len(graph.valves)} "
        f"valves, {len(set(graph.node_segment.values()) | set(graph.link_segment.values()))} "
        "segments"
    )
    print(f"  segments   ours {ours_s:8.4f} s   wntr.valve_segments {wntr_s:8.4f} s")
    print(
        f"  isolate {pipe}: ours {ours_i:8.4f} s (from SQLite {stored_i:.4f} s)   "
        f"networkx {nx_i:8.4f} s   ({len(isolation.affected_nodes)} nodes cut off)"
    )


def main() -> None:
    try:
        import wntr
    except ImportError:
        print("skipped: needs the network extra (pip install 'outage-notify[network]')")
        return
    ky10 = Path(str(files(wntr) / "library" / "networks" / "ky10.inp"))
    run_one("ky10", ky10, "P-825")
    with tempfile.TemporaryDirectory() as tmp:
        path = grid_inp(Path(tmp) / "grid.inp", GRID)
        run_one(f"grid {GRID}x{GRID}", path, f"H{GRID // 2}_{GRID // 2}")


if __name__ == "__main__":
    main()
