from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.geo import area_shape
from outage_notify.models import AuditEvent, ServiceArea
from outage_notify.planning import areas
from tests.builders import CITY, collection, feature, square, write_geojson

BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
TOO_SHORT = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}
UNCLOSED_5 = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]]}
SWAPPED = {
    "type": "Polygon",
    "coordinates": [[[31.2, 121.4], [31.3, 121.4], [31.3, 121.5], [31.2, 121.5], [31.2, 121.4]]],
}
OUT_OF_RANGE = {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 95], [0, 0]]]}
POINT = {"type": "Point", "coordinates": [121.4, 31.2]}

BAD_FILES: list[tuple[str, Any, str]] = [
    ("missing code", collection(feature(code=None)), "feature 1: missing property code"),
    ("missing name", collection(feature(name=None)), "feature 1 (code W01): missing property name"),
    ("missing utility", collection(feature(utility=None)), "missing property utility"),
    ("unknown utility", collection(feature(utility="power")), "unknown utility 'power'"),
    ("point geometry", collection(feature(geometry=POINT)), "geometry is Point, not Polygon"),
    (
        "no geometry",
        collection(
            {
                "type": "Feature",
                "properties": {"code": "W01", "name": "n", "utility": "water"},
                "geometry": None,
            }
        ),
        "has no geometry",
    ),
    ("unclosed ring", collection(feature(geometry=UNCLOSED_5)), "ring 1 is not closed"),
    ("three positions", collection(feature(geometry=TOO_SHORT)), "needs at least 4 positions"),
    ("self-intersecting", collection(feature(geometry=BOWTIE)), "self-intersection at [0.5, 0.5]"),
    ("swapped lat/lon", collection(feature(geometry=SWAPPED)), "looks like [latitude, longitude]"),
    ("out of range", collection(feature(geometry=OUT_OF_RANGE)), "longitude must be within"),
    (
        "duplicate code",
        collection(feature("W01"), feature("W01", geometry=square(121.5, 31.2))),
        "feature 2 (code W01): code W01 repeats feature 1",
    ),
    ("bad code", collection(feature(code="W 01")), "code 'W 01' must be 1-64 letters"),
    ("not a collection", feature(), "is not a GeoJSON FeatureCollection"),
    ("no features", collection(), "has no features"),
    ("not a feature", collection({"type": "Polygon"}), "feature 1: not a GeoJSON Feature"),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_is_rejected_naming_the_feature_and_writes_nothing(
    run_cli, tmp_path: Path, db: Database, case: str, data: Any, message: str
) -> None:
    # A good feature first: the bad one must still stop the whole file.
    data = copy.deepcopy(data)
    if isinstance(data, dict) and data.get("features"):
        data["features"].insert(0, feature("OK1", geometry=square(10, 10)))
        message = message.replace("feature 2", "feature 3").replace("feature 1", "feature 2")
    path = write_geojson(tmp_path / "areas.geojson", data)
    result = run_cli("areas", "import", str(path))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    with db.read() as session:
        assert session.exec(select(ServiceArea)).all() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON: line 1 column 2"),
        (b"\xff\xfe\x00", "is not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "is nested too deeply to be GeoJSON"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "is nested too deeply to be GeoJSON"),
    ],
)
def test_unreadable_file_is_a_clear_error(
    run_cli, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "areas.geojson"
    path.write_bytes(content)
    result = run_cli("areas", "import", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_file_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("areas", "import", str(tmp_path / "nope.geojson"))
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_every_problem_is_listed_at_once() -> None:
    data = collection(feature(code=None), feature("W02", utility="power"), feature("W03"))
    with pytest.raises(InputError) as caught:
        areas.parse_areas(data)
    assert "2 problems" in str(caught.value)
    assert len(caught.value.problems) == 2


def test_import_upserts_by_code_and_keeps_the_bounding_box(db: Database) -> None:
    with db.session() as session:
        first = areas.import_areas(session, areas.parse_areas(CITY), actor="alice")
    assert first.summary() == {"inserted": 4, "updated": 0, "unchanged": 0}

    moved = collection(
        feature("W01", "water", square(121.45, 31.25), "人民路片区", name_en="Renmin Road"),
        feature("W02", "water", square(121.5, 31.2), "解放路片区", name_en="Jiefang Road"),
        feature("W09", "water", square(121.9, 31.2), "新区"),
    )
    with db.session() as session:
        second = areas.import_areas(session, areas.parse_areas(moved), actor="bob")
    assert second.inserted == ["W09"]
    assert second.updated == ["W01"]
    assert second.unchanged == ["W02"]

    with db.read() as session:
        w01 = session.exec(select(ServiceArea).where(ServiceArea.code == "W01")).one()
        assert (w01.min_lon, w01.min_lat, w01.max_lon, w01.max_lat) == pytest.approx(
            (121.45, 31.25, 121.55, 31.35)
        )
        assert shapely.contains_xy(area_shape(w01), 121.5, 31.3)
        assert len(session.exec(select(ServiceArea)).all()) == 5
        events = session.exec(
            select(AuditEvent).where(AuditEvent.actor == "bob").order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.entity_id) for e in events] == [
            ("area.update", "W01"),
            ("area.create", "W09"),
        ]
        assert events[0].before is not None
        assert events[0].before["min_lon"] == 121.4
        assert events[0].after is not None
        assert events[0].after["min_lon"] == 121.45


def test_an_area_keeps_its_utility(db: Database) -> None:
    with db.session() as session:
        areas.import_areas(session, areas.parse_areas(CITY), actor="a")
    with pytest.raises(InputError) as caught, db.session() as session:
        areas.import_areas(session, areas.parse_areas(collection(feature("W01", "gas"))), actor="a")
    assert "W01 is a water area; the file says gas" in caught.value.problems[0]


def test_multipolygon_and_altitude_are_accepted() -> None:
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 1, 5], [0, 0, 5]]],
            [[[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]],
        ],
    }
    (draft,) = areas.parse_areas(collection(feature("M1", geometry=geometry)))
    assert draft.bounds == (0.0, 0.0, 3.0, 3.0)
    assert draft.geometry["coordinates"][0][0][0] == [0.0, 0.0]


def test_cli_import_then_list(run_cli, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "city.geojson", CITY)
    result = run_cli("areas", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "4 inserted, 0 updated, 0 unchanged" in result.output

    again = run_cli("areas", "import", str(path), "--json")
    assert json.loads(again.stdout)["unchanged"] == 4

    listed = run_cli("areas", "list", "--json")
    data = json.loads(listed.stdout)
    assert [a["code"] for a in data] == ["G01", "W01", "W02", "W03"]
    assert data[1]["name_en"] == "Renmin Road"
    assert data[1]["customers"] == 0

    water = run_cli("areas", "list", "--utility", "water")
    assert "W01" in water.output
    assert "G01" not in water.output


def test_the_description_of_the_streets_is_kept(db: Database) -> None:
    streets = "人民路1-200号，解放路东段"
    data = collection(feature("W01", "water", square(121.4, 31.2), description=streets))
    with db.session() as session:
        areas.import_areas(session, areas.parse_areas(data), actor="a")
    with db.read() as session:
        row = session.exec(select(ServiceArea)).one()
        assert row.description == streets
        assert areas.describe_area(row)["description"] == streets
    too_long = collection(feature("W01", "water", description="x" * 501))
    with pytest.raises(InputError) as caught:
        areas.parse_areas(too_long)
    assert "description is longer than 500 characters" in caught.value.problems[0]


def test_areas_at_a_point_by_polygon_edge_included(db: Database) -> None:
    with db.session() as session:
        areas.import_areas(session, areas.parse_areas(CITY), actor="a")
        # W01 is 121.4..121.5 x 31.2..31.3; the gas area G01 covers W01 and W02.
        assert [a.code for a in areas.areas_at(session, 121.45, 31.25)] == ["G01", "W01"]
        assert [a.code for a in areas.areas_at(session, 121.5, 31.25)] == ["G01", "W01", "W02"]
        assert areas.areas_at(session, 0.0, 0.0) == []
