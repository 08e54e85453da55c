"""The network commands end to end: import, show, isolate, and outages planned by pipe.

tests/data/network/tiny.inp lies in the test city (W01 and, for J6, W02): isolating P2 cuts
off J2..J6 (P7 is closed in the file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import NetworkLink, NetworkNode, NetworkValve, OutagePipe
from tests.builders import CUSTOMER_HEADER, customer_row, make_city, write_customers

pytest.importorskip("wntr")

DATA = Path(__file__).parent.parent / "data" / "network"
INP, VALVES = str(DATA / "tiny.inp"), str(DATA / "tiny-valves.csv")
NOW = ("--now", "2026-12-01T09:00")  # previews, reports and exports
AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # the same instant, as the commands' clock
ADD = (
    *("outages", "add", "--utility", "water", "--start", "2026-12-10T10:00"),
    *("--end", "2026-12-10T14:00", "--title", "Valve work"),
)


def run_json(run_cli, *args: str, now: datetime | None = None) -> Any:  # type: ignore[no-untyped-def]
    result = run_cli(*args, "--json", now=now)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return len(session.exec(select(model)).all())


@pytest.fixture
def customers(db: Database, tmp_path: Path, run_cli) -> Path:  # type: ignore[no-untyped-def]
    make_city(db)
    rows = [
        customer_row("c1", phone="+8613800000001", service_node="J3"),
        customer_row(
            "c2", phone="+8613800000002", service_node="P6", latitude=31.2495, longitude=121.501
        ),
        customer_row("c3", phone="+8613800000003", latitude=31.2512, longitude=121.494),
        customer_row("c4", phone="+8613800000004", latitude=31.2501, longitude=121.491),
        customer_row(
            "c5", phone="+8613800000005", service_node="J1", latitude=31.25, longitude=121.492
        ),
    ]
    path = write_customers(tmp_path / "customers.csv", rows, [*CUSTOMER_HEADER, "service_node"])
    result = run_cli("customers", "import", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_import_stores_nodes_pipes_valves_and_segments(run_cli, db: Database) -> None:
    data = run_json(run_cli, "network", "import", INP, "--valves", VALVES)
    assert data["junctions"] == 6
    assert data["sources"] == 1
    assert (data["links"], data["closed_links"], data["valves"]) == (7, 1, 4)
    assert data["segments"] == 4
    assert data["valves_from"] == "file"
    assert (count(db, NetworkNode), count(db, NetworkLink), count(db, NetworkValve)) == (7, 7, 4)
    with db.read() as session:
        assert session.exec(select(NetworkLink.closed).where(NetworkLink.name == "P7")).one()


def test_import_without_valves_says_they_were_placed_by_wntr(run_cli) -> None:
    result = run_cli("network", "import", INP)
    assert result.exit_code == 0, result.output
    assert "strategic" in result.output
    assert "import the utility's valve layer" in result.output


def test_a_geojson_valve_layer_is_read_like_the_csv(run_cli, tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.4925, 31.25]},
            "properties": {"valve": "G1", "pipe": "P2", "node": "J1"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.4935, 31.25]},
            "properties": {"valve": "G2", "pipe": "P2", "node": "J2"},
        },
    ]
    path = tmp_path / "valves.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    data = run_json(run_cli, "network", "import", INP, "--valves", str(path))
    # P2 alone, and the rest (the closed P7 still joins J6 and J1: segments are topology).
    assert data["valves"] == 2
    assert data["segments"] == 2


BAD_VALVES = [
    ("V9,P99,J1", "valve V9 is on pipe P99, which the network does not have"),
    ("V9,P2,J5", "node J5 is not an end of pipe P2"),
    ("V1,P4,J3", "valve V1 appears twice"),
    ("V\x009,P2,J2", "a control character in valve, pipe or node"),
]


@pytest.mark.parametrize(("line", "message"), BAD_VALVES)
def test_bad_valves_reject_the_import_and_write_nothing(
    run_cli, db: Database, tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "valves.csv"
    path.write_text(Path(VALVES).read_text() + line + "\n")
    result = run_cli("network", "import", INP, "--valves", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert count(db, NetworkNode) == 0


def test_an_inp_that_does_not_parse_is_rejected(run_cli, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "broken.inp"
    path.write_text("[JUNCTIONS]\n J1 10 1\n[PIPES]\n P1 J1 J9 100 200 100 0 Open\n[END]\n")
    result = run_cli("network", "import", str(path))
    assert result.exit_code == 1
    assert "is not an EPANET INP file WNTR can read" in result.output
    assert count(db, NetworkNode) == 0


def test_a_network_without_a_source_is_rejected(run_cli, db: Database, tmp_path: Path) -> None:
    text = Path(INP).read_text()
    text = text.replace(" R   60\n", "").replace(" P1  R      J1", " P1  J5     J1")
    path = tmp_path / "dry.inp"
    path.write_text(text.replace(" R    121.490  31.250\n", ""))
    result = run_cli("network", "import", str(path), "--valves", VALVES)
    assert result.exit_code == 1
    assert "no reservoir or tank" in result.output
    assert count(db, NetworkNode) == 0


def test_isolate_names_valves_nodes_and_customers(run_cli, customers: Path) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    data = run_json(run_cli, "network", "isolate", "P2")
    assert [v["valve"] for v in data["valves"]] == ["V1", "V2"]
    assert data["affected_nodes"] == ["J2", "J3", "J4", "J5", "J6"]
    assert data["customers"] == 3  # c1 at J3, c2 on P6, c3 nearest to P5
    text = run_cli("network", "isolate", "P2").output
    assert "Close 2 valve(s): V1 (P2 at J1), V2 (P3 at J2)" in text


def test_isolate_an_unknown_pipe_fails(run_cli) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    result = run_cli("network", "isolate", "P99")
    assert result.exit_code == 1
    assert "pipe P99 does not exist" in result.output


def test_show_reports_how_customers_are_linked(run_cli, customers: Path) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    data = run_json(run_cli, "network", "show")
    assert data["sources"] == ["R"]
    assert data["closed"] == ["P7"]
    links = data["customers"]
    assert links["by_service_node"] == 3
    assert links["by_nearest_pipe"]["linked"] == 2
    assert links["by_nearest_pipe"]["max_m"] < 20
    assert "by nearest pipe" in run_cli("network", "show").output


def test_a_network_outage_targets_by_isolation_and_compares_with_its_area(
    run_cli, db: Database, customers: Path
) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    outage = run_json(run_cli, *ADD, "--pipe", "P2", "--area", "W01", now=AT)
    with db.read() as session:
        assert session.exec(select(OutagePipe.pipe)).all() == ["P2"]
    data = run_json(run_cli, "outages", "preview", str(outage["id"]), *NOW)
    assert data["by_match"] == {"network": 3}
    assert data["recipients"]["sms"]["total"] == 3
    network = data["network"]
    # W01 holds c3, c4 and c5 by location; c1 has no location, c2 lies in W02.
    assert (network["customers"], network["areas_alone"]) == (3, 3)
    assert (network["added_by_network"], network["spared_by_network"]) == (2, 2)
    assert (network["added_accounts"], network["spared_accounts"]) == (["c1", "c2"], ["c4", "c5"])
    text = run_cli("outages", "preview", str(outage["id"]), *NOW).output
    assert "the network adds 2, spares 2" in text


def test_a_network_outage_needs_no_area(run_cli, customers: Path) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    outage = run_json(run_cli, *ADD, "--pipe", "P4", now=AT)
    assert outage["areas"] == []
    assert outage["pipes"] == ["P4"]
    assert "Pipes (targeted by valve isolation): P4" in run_cli("outages", "show", "1").output
    data = run_json(run_cli, "outages", "preview", str(outage["id"]), *NOW)
    assert data["by_match"] == {"network": 2}  # c1 at J3, c2 on P6
    assert data["network"]["areas_alone"] == 0


def test_an_unknown_pipe_rejects_the_outage(run_cli, db: Database, customers: Path) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    result = run_cli(*ADD, "--pipe", "P99", now=AT)
    assert result.exit_code == 1
    assert "pipe P99 is not in the network" in result.output
    assert count(db, OutagePipe) == 0


def test_a_pipe_with_a_control_character_rejects_the_outage(
    run_cli, db: Database, customers: Path
) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    result = run_cli(*ADD, "--pipe", "P\x014", now=AT)
    assert result.exit_code == 1
    assert "a pipe contains a control character" in result.output
    assert count(db, OutagePipe) == 0


def test_a_pipe_outage_before_any_network_is_rejected(run_cli, customers: Path) -> None:
    result = run_cli(*ADD, "--pipe", "P2", now=AT)
    assert result.exit_code == 1
    assert "no network imported" in result.output


def test_reimporting_keeps_the_pipes_of_planned_outages(
    run_cli, customers: Path, tmp_path: Path
) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    run_json(run_cli, *ADD, "--pipe", "P6", now=AT)
    smaller = tmp_path / "smaller.inp"
    smaller.write_text(
        Path(INP)
        .read_text()
        .replace(" P6  J4     J6     300     150       100        0          Open\n", "")
    )
    result = run_cli("network", "import", str(smaller), "--valves", VALVES)
    assert result.exit_code == 1
    assert "planned outage #1 works on pipe P6" in result.output


def test_without_wntr_the_network_import_says_how_to_install_it(
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wntr", None)  # what an environment without the extra sees
    result = run_cli("network", "import", INP)
    assert result.exit_code == 1
    assert "pip install 'outage-notify[network]'" in result.output


def test_the_daemon_and_the_preview_never_import_wntr() -> None:
    code = (
        "import sys; import outage_notify.cli, outage_notify.delivery.daemon, "
        "outage_notify.planning.preview; print('wntr' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_feeds_describe_a_network_outage_by_the_hull_of_what_it_cuts_off(
    run_cli, db: Database, settings, customers: Path, tmp_path: Path
) -> None:
    import shapely

    from outage_notify.publishing.publication import NETWORK_AREA, read_outage

    run_cli("network", "import", INP, "--valves", VALVES)
    outage = run_json(run_cli, *ADD, "--pipe", "P4", now=AT)
    with db.read() as session:
        feed = read_outage(session, settings, outage["id"])
    (area,) = feed.areas
    assert area.code == NETWORK_AREA
    hull = shapely.Polygon(area.shapes[0][0])
    assert hull.contains(shapely.Point(121.496, 31.25))  # J3, in the isolated segment
    assert hull.contains(shapely.Point(121.502, 31.249))  # J6, cut off beyond it
    assert not hull.contains(shapely.Point(121.492, 31.25))  # J1 keeps its water
    result = run_cli("feeds", "export", str(tmp_path / "out"), *NOW)
    assert result.exit_code == 0, result.output
    cap = "\n".join(p.read_text() for p in (tmp_path / "out").rglob("*.xml"))
    assert "<polygon>" in cap
    assert "受影响管网范围" in cap


def test_the_outage_report_counts_a_network_outages_premises_by_isolation(
    run_cli, customers: Path
) -> None:
    run_cli("network", "import", INP, "--valves", VALVES)
    outage = run_json(run_cli, *ADD, "--pipe", "P2", "--area", "W01", now=AT)
    data = run_json(run_cli, "report", "--outage", str(outage["id"]), "--now", "2026-12-11T09:00")
    assert data["coverage"]["affected_premises"] == 3  # the isolation's, not W01's


def projected(tmp_path: Path) -> Path:
    """tiny.inp with its coordinates in UTM zone 51N metres, as a utility's GIS has them."""
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    lines, in_coordinates = [], False
    for line in Path(INP).read_text().splitlines():
        parts = line.split()
        if line.startswith("["):
            in_coordinates = line.strip() == "[COORDINATES]"
        elif in_coordinates and len(parts) == 3 and not line.startswith(";"):
            x, y = to_utm.transform(float(parts[1]), float(parts[2]))
            line = f" {parts[0]} {x:.2f} {y:.2f}"
        lines.append(line)
    path = tmp_path / "utm.inp"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_crs_turns_projected_coordinates_into_lon_lat(
    run_cli, customers: Path, tmp_path: Path
) -> None:
    data = run_json(
        run_cli,
        "network",
        "import",
        str(projected(tmp_path)),
        "--valves",
        VALVES,
        "--crs",
        "EPSG:32651",
    )
    assert data["located"] is True
    assert run_json(run_cli, "network", "isolate", "P2")["customers"] == 3


def test_projected_coordinates_without_crs_link_customers_by_service_node_only(
    run_cli, customers: Path, tmp_path: Path
) -> None:
    result = run_cli("network", "import", str(projected(tmp_path)), "--valves", VALVES)
    assert result.exit_code == 0, result.output
    assert "pass --crs" in result.output
    # c1 (J3) and c2 (P6) by service_node; c3, found only by location, is not linked.
    assert run_json(run_cli, "network", "isolate", "P2")["customers"] == 2


def test_an_unknown_crs_is_rejected(run_cli, db: Database) -> None:
    result = run_cli("network", "import", INP, "--valves", VALVES, "--crs", "EPSG:0")
    assert result.exit_code == 1
    assert "--crs EPSG:0" in result.output
    assert count(db, NetworkNode) == 0
