"""Where a location lies: the one rule for "is this point in that service area".

A point exactly on a boundary is inside (intersects, not contains): a missed resident is
worse than an extra notice. Targeting applies it to many customers at once; the SMS STATUS
reply and anything else that asks about one point use :func:`areas_at`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlmodel import Session, select

from outage_notify.models import ServiceArea


def area_shape(area: ServiceArea) -> shapely.Geometry:
    """The shapely (Multi)Polygon of an area, lon/lat."""
    return shape(area.geometry)


def inside(geometry: shapely.Geometry, lons: Any, lats: Any) -> np.ndarray:
    """For each (lon, lat), whether it lies in ``geometry``, boundary included (vectorised)."""
    return np.asarray(shapely.intersects_xy(geometry, lons, lats))


def areas_at(session: Session, lon: float, lat: float) -> list[str]:
    """The codes of the areas a point lies in: bounding boxes in SQL, then the polygons."""
    candidates = session.exec(
        select(ServiceArea).where(
            ServiceArea.min_lon <= lon,
            ServiceArea.max_lon >= lon,
            ServiceArea.min_lat <= lat,
            ServiceArea.max_lat >= lat,
        )
    ).all()
    return [area.code for area in candidates if inside(area_shape(area), lon, lat)]
