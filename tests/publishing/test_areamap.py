from __future__ import annotations

import pytest

from channels.feeds import FeedArea
from outage_notify.publishing.areamap import PADDING, SIZE, area_map

SQUARE = ((121.0, 31.0), (121.01, 31.0), (121.01, 31.01), (121.0, 31.01), (121.0, 31.0))
HOLE = ((121.004, 31.004), (121.006, 31.004), (121.006, 31.006), (121.004, 31.004))


def numbers(path: str) -> list[tuple[float, float]]:
    points = path.replace("M", " ").replace("L", " ").replace("Z", " ").split()
    return [(float(x), float(y)) for x, y in (p.split(",") for p in points)]


def test_no_geometry_no_map() -> None:
    assert area_map([FeedArea("A", ())], ["A"]) is None


def test_north_is_up_and_the_drawing_fills_the_view() -> None:
    drawing = area_map([FeedArea("A", ((SQUARE,),))], ["A"])
    assert drawing is not None
    (shape,) = drawing.shapes
    points = numbers(shape.path)
    pad = PADDING * SIZE
    # (lon 121.0, lat 31.0) is the south-west corner: left and at the bottom
    assert points[0][0] == pytest.approx(pad)
    assert points[0][1] == pytest.approx(drawing.height - pad, abs=0.1)
    assert max(x for x, _ in points) == pytest.approx(drawing.width - pad, abs=0.1)
    assert min(y for _, y in points) == pytest.approx(pad)


def test_longitude_is_squeezed_by_the_cosine_of_the_latitude() -> None:
    drawing = area_map([FeedArea("A", ((SQUARE,),))], ["A"])
    assert drawing is not None
    inner_w = drawing.width - 2 * PADDING * SIZE
    inner_h = drawing.height - 2 * PADDING * SIZE
    # at 31 degrees north a degree of longitude is cos(31) ~ 0.857 of a degree of latitude
    assert inner_w / inner_h == pytest.approx(0.857, abs=0.002)


def test_holes_are_drawn_in_the_same_path() -> None:
    drawing = area_map([FeedArea("A", ((SQUARE, HOLE),))], ["A"])
    assert drawing is not None
    assert drawing.shapes[0].path.count("M") == 2


def test_each_area_has_its_own_colour_and_label() -> None:
    areas = [
        FeedArea("A", ((SQUARE,),)),
        FeedArea("B", ((tuple((x + 0.02, y) for x, y in SQUARE),),)),
    ]
    drawing = area_map(areas, ["Alpha", "<b>Beta</b>"])
    assert drawing is not None
    assert [s.label for s in drawing.shapes] == ["Alpha", "<b>Beta</b>"]  # escaped by Jinja
    assert len({s.color for s in drawing.shapes}) == 2
    assert drawing.shapes[0].label_x < drawing.shapes[1].label_x
