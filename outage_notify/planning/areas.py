"""Service areas: the polygons a utility plans its work by, imported from GeoJSON.

``areas import`` upserts by ``code``. The whole file is checked before anything is written,
and every problem names its feature, so a planner can fix the file in one go.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import func
from sqlmodel import Session, col, select

from outage_notify import audit
from outage_notify.db import utcnow
from outage_notify.errors import InputError
from outage_notify.models import Customer, ServiceArea
from outage_notify.states import UTILITIES

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_PROBLEMS_SHOWN = 200


@dataclass(frozen=True)
class AreaDraft:
    """One validated feature: what a ServiceArea row will hold."""

    code: str
    name: str
    name_en: str | None
    utility: str
    geometry: dict[str, Any]  # GeoJSON, 2-D positions only
    bounds: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    description: str | None = None  # the streets it covers, shown to residents


@dataclass
class AreaImport:
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "inserted": len(self.inserted),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
        }


def area_geometry(area: ServiceArea) -> shapely.Geometry:
    """The shapely (Multi)Polygon of an area, lon/lat."""
    return shape(area.geometry)


def areas_at(session: Session, lon: float, lat: float) -> list[ServiceArea]:
    """The areas whose polygon covers the point (its edge included), by code: a bounding-box
    filter in SQL, then the polygon test on the few candidates."""
    candidates = session.exec(
        select(ServiceArea)
        .where(
            col(ServiceArea.min_lon) <= lon,
            col(ServiceArea.max_lon) >= lon,
            col(ServiceArea.min_lat) <= lat,
            col(ServiceArea.max_lat) >= lat,
        )
        .order_by(col(ServiceArea.code))
    ).all()
    return [a for a in candidates if bool(shapely.intersects_xy(area_geometry(a), lon, lat))]


def read_areas(path: Path) -> list[AreaDraft]:
    """Parse and validate a GeoJSON FeatureCollection; InputError lists every problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: save it as UTF-8 GeoJSON") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        # No GeoJSON nests more than a few levels; thousands is a broken or hostile file.
        raise InputError(f"{path} is nested too deeply to be GeoJSON") from None
    return parse_areas(data, source=str(path))


def parse_areas(data: object, *, source: str = "the file") -> list[AreaDraft]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InputError(f"{source} is not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise InputError(f"{source} has no features")
    drafts: list[AreaDraft] = []
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        label = _label(number, feature)
        try:
            draft = _feature(feature)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        if draft.code in first_seen:
            problems.append(f"{label}: code {draft.code} repeats feature {first_seen[draft.code]}")
            continue
        first_seen[draft.code] = number
        drafts.append(draft)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        noun = "problem" if len(problems) == 1 else "problems"
        raise InputError(f"{source}: {len(problems)} {noun}, no area was imported:", problems=shown)
    return drafts


def _label(number: int, feature: object) -> str:
    props = feature.get("properties") if isinstance(feature, dict) else None
    code = props.get("code") if isinstance(props, dict) else None
    return f"feature {number} (code {code})" if isinstance(code, str | int) else f"feature {number}"


def _feature(feature: object) -> AreaDraft:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise ValueError("has no properties (needs code, name and utility)")
    code = _code(props.get("code"))
    name = _text(props, "name", required=True)
    name_en = _text(props, "name_en", required=False)
    description = _text(props, "description", required=False, longest=500)
    utility = props.get("utility")
    if utility is None or utility == "":
        raise ValueError("missing property utility (water or gas)")
    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r} (use water or gas)")
    geometry = _geometry(feature.get("geometry"))
    shapely_geometry = shape(geometry)
    if not shapely.is_valid(shapely_geometry):
        raise ValueError(f"invalid geometry: {_reason(shapely.is_valid_reason(shapely_geometry))}")
    if shapely_geometry.area == 0:
        raise ValueError("geometry encloses no area")
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in shapely_geometry.bounds)
    bounds = (min_lon, min_lat, max_lon, max_lat)
    return AreaDraft(code, name or "", name_en, str(utility), geometry, bounds, description)


def _code(value: object) -> str:
    if value is None or value == "":
        raise ValueError("missing property code")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"code must be text, got {value!r}")
    code = str(value).strip()
    if not CODE_PATTERN.fullmatch(code):
        raise ValueError(
            f"code {code!r} must be 1-64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit"
        )
    return code


def _text(props: dict[str, Any], key: str, *, required: bool, longest: int = 200) -> str | None:
    value = props.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"missing property {key}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text, got {value!r}")
    if len(value.strip()) > longest:
        raise ValueError(f"{key} is longer than {longest} characters")
    return value.strip()


def _geometry(geometry: object) -> dict[str, Any]:
    if not isinstance(geometry, dict):
        raise ValueError("has no geometry (needs a Polygon or MultiPolygon)")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        return {"type": kind, "coordinates": _polygon(coordinates, "")}
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise ValueError("MultiPolygon has no polygons")
        polygons = [_polygon(p, f" of polygon {i}") for i, p in enumerate(coordinates, start=1)]
        return {"type": kind, "coordinates": polygons}
    raise ValueError(f"geometry is {kind or 'untyped'}, not Polygon or MultiPolygon")


def _polygon(rings: object, where: str) -> list[list[list[float]]]:
    if not isinstance(rings, list) or not rings:
        raise ValueError(f"polygon{where} has no rings")
    return [_ring(ring, f"ring {i}{where}") for i, ring in enumerate(rings, start=1)]


def _ring(ring: object, where: str) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError(f"{where} needs at least 4 positions (a closed triangle)")
    positions = [_position(p, where) for p in ring]
    if positions[0] != positions[-1]:
        raise ValueError(
            f"{where} is not closed: it starts at {_point(positions[0])} and ends at "
            f"{_point(positions[-1])}"
        )
    return positions


def _position(value: object, where: str) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{where} has a position that is not [longitude, latitude]: {value!r}")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"{where} has a position that is not a finite number")
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        return [lon, lat]
    if abs(lon) <= 90 and abs(lat) <= 180:
        raise ValueError(
            f"{where} has a position out of range, {_point([lon, lat])}: it looks like "
            "[latitude, longitude]; GeoJSON wants [longitude, latitude]"
        )
    raise ValueError(
        f"{where} has a position out of range, {_point([lon, lat])}: longitude must be "
        "within -180..180 and latitude within -90..90"
    )


def _point(position: list[float]) -> str:
    return f"[{position[0]:g}, {position[1]:g}]"


def _reason(text: str) -> str:
    # GEOS says "Self-intersection[121.05 31.05]"; say where in the same words as the file.
    match = re.fullmatch(r"(.*)\[(\S+) (\S+)\]", text)
    if not match:
        return text
    what, lon, lat = match.groups()
    return f"{what.lower()} at [{float(lon):g}, {float(lat):g}]"


def import_areas(session: Session, drafts: Sequence[AreaDraft], *, actor: str) -> AreaImport:
    """Upsert the validated areas by code, auditing each insert and update."""
    result = AreaImport()
    codes = [d.code for d in drafts]
    existing = {
        a.code: a
        for a in session.exec(select(ServiceArea).where(col(ServiceArea.code).in_(codes))).all()
    }
    changed_utility = [
        f"{d.code} is a {existing[d.code].utility} area; the file says {d.utility}"
        for d in drafts
        if d.code in existing and existing[d.code].utility != d.utility
    ]
    if changed_utility:
        raise InputError(
            "an area keeps its utility (customers and outages refer to it by code); "
            "no area was imported:",
            problems=changed_utility,
        )
    now = utcnow()
    for draft in drafts:
        row = existing.get(draft.code)
        values = _values(draft)
        if row is None:
            session.add(ServiceArea(**values, created_at=now, updated_at=now))
            result.inserted.append(draft.code)
            audit.record(
                session,
                actor=actor,
                action="area.create",
                entity="service_area",
                entity_id=draft.code,
                after=_audit_view(values),
            )
        elif any(getattr(row, key) != value for key, value in values.items()):
            before = _audit_view({key: getattr(row, key) for key in values})
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            session.add(row)
            result.updated.append(draft.code)
            audit.record(
                session,
                actor=actor,
                action="area.update",
                entity="service_area",
                entity_id=draft.code,
                before=before,
                after=_audit_view(values),
            )
        else:
            result.unchanged.append(draft.code)
    session.flush()
    return result


def _values(draft: AreaDraft) -> dict[str, Any]:
    min_lon, min_lat, max_lon, max_lat = draft.bounds
    return {
        "code": draft.code,
        "name": draft.name,
        "name_en": draft.name_en,
        "description": draft.description,
        "utility": draft.utility,
        "geometry": draft.geometry,
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
    }


def _audit_view(values: dict[str, Any]) -> dict[str, Any]:
    """The audit keeps names and bounds; the geometry itself is too large to copy each time."""
    view = {k: v for k, v in values.items() if k != "geometry"}
    geometry = values.get("geometry") or {}
    view["geometry_type"] = geometry.get("type")
    return view


def list_areas(session: Session, *, utility: str | None = None) -> list[ServiceArea]:
    query = select(ServiceArea).order_by(col(ServiceArea.utility), col(ServiceArea.code))
    if utility is not None:
        query = query.where(ServiceArea.utility == utility)
    return list(session.exec(query).all())


def customer_counts(session: Session) -> dict[tuple[str, str], int]:
    """Customers per (utility, area code), by the area codes of their accounts."""
    counts: dict[tuple[str, str], int] = {}
    for utility, column in (("water", Customer.water_area), ("gas", Customer.gas_area)):
        rows = session.exec(
            select(column, func.count()).where(col(column).is_not(None)).group_by(column)
        ).all()
        counts.update({(utility, str(code)): int(n) for code, n in rows})
    return counts


def describe_area(area: ServiceArea, customers: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": area.code,
        "name": area.name,
        "name_en": area.name_en,
        "description": area.description,
        "utility": area.utility,
        "bounds": [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
        "updated_at": area.updated_at,
    }
    if customers is not None:
        data["customers"] = customers
    return data
