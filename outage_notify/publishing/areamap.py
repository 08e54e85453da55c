"""Service areas drawn as inline SVG from their polygons: no map tiles, no outside requests.

An equirectangular projection scaled by the cosine of the middle latitude is exact enough for
the few kilometres of a city district, and keeps the shapes' proportions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry import MultiPolygon, Polygon

from channels.feeds import FeedArea

SIZE = 1000.0  # the longer side of the drawing, in viewBox units
PADDING = 0.06
PALETTE = ("#1f6fb2", "#c05a00", "#2a8a4a", "#8a3fa0", "#b3261e", "#00838f", "#6d5d00")


@dataclass(frozen=True)
class MapShape:
    code: str
    label: str
    path: str  # SVG path data: numbers and M/L/Z only
    color: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class AreaMap:
    view_box: str
    width: float
    height: float
    shapes: tuple[MapShape, ...]


def area_map(areas: Sequence[FeedArea], labels: Sequence[str]) -> AreaMap | None:
    """The areas that have geometry, projected into one drawing; None when none has any."""
    points = [p for a in areas for shape in a.shapes for ring in shape for p in ring]
    if not points:
        return None
    min_lon, max_lon = min(p[0] for p in points), max(p[0] for p in points)
    min_lat, max_lat = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lon - min_lon) * squeeze, 1e-9)
    span_y = max(max_lat - min_lat, 1e-9)
    scale = SIZE / max(span_x, span_y)
    width, height = span_x * scale, span_y * scale
    pad = PADDING * SIZE

    def project(lon: float, lat: float) -> tuple[float, float]:
        return ((lon - min_lon) * squeeze * scale + pad, (max_lat - lat) * scale + pad)

    shapes = []
    for index, (area, label) in enumerate(zip(areas, labels, strict=True)):
        if not area.shapes:
            continue
        parts = []
        for shape in area.shapes:
            for ring in shape:
                xy = [project(lon, lat) for lon, lat in ring]
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
        polygons = [Polygon(s[0], s[1:]) for s in area.shapes if len(s[0]) >= 3]
        centre = MultiPolygon(polygons).representative_point() if polygons else None
        lx, ly = project(centre.x, centre.y) if centre is not None else (pad, pad)
        shapes.append(
            MapShape(
                code=area.code,
                label=label,
                path="".join(parts),
                color=PALETTE[index % len(PALETTE)],
                label_x=round(lx, 1),
                label_y=round(ly, 1),
            )
        )
    full_w, full_h = width + 2 * pad, height + 2 * pad
    return AreaMap(
        view_box=f"0 0 {full_w:.1f} {full_h:.1f}",
        width=round(full_w, 1),
        height=round(full_h, 1),
        shapes=tuple(shapes),
    )
