"""Small builders for planning data: GeoJSON areas, customer CSV files, a little city."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from outage_notify.db import Database
from outage_notify.planning import areas

CUSTOMER_HEADER = [
    "account_id",
    "name",
    "phone",
    "email",
    "language",
    "address",
    "latitude",
    "longitude",
    "water_area",
    "gas_area",
    "channels",
    "critical",
]


def square(lon: float, lat: float, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(
    code: str | None = "W01",
    utility: str | None = "water",
    geometry: dict[str, Any] | None = None,
    name: str | None = "人民路片区",
    **extra: Any,
) -> dict[str, Any]:
    props = {"code": code, "name": name, "utility": utility, **extra}
    props = {k: v for k, v in props.items() if v is not None}
    return {"type": "Feature", "properties": props, "geometry": geometry or square(121.4, 31.2)}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def write_geojson(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# W01..W03 side by side along 121.4-121.7 east, 31.2-31.3 north; G01 over W01 and W02.
CITY = collection(
    feature("W01", "water", square(121.4, 31.2), "人民路片区", name_en="Renmin Road"),
    feature("W02", "water", square(121.5, 31.2), "解放路片区", name_en="Jiefang Road"),
    feature("W03", "water", square(121.6, 31.2), "江滨片区"),
    feature(
        "G01",
        "gas",
        {
            "type": "Polygon",
            "coordinates": [
                [[121.4, 31.2], [121.6, 31.2], [121.6, 31.3], [121.4, 31.3], [121.4, 31.2]]
            ],
        },
        "城东燃气片区",
        name_en="East Gas",
    ),
)


def make_city(db: Database) -> None:
    with db.session() as session:
        areas.import_areas(session, areas.parse_areas(CITY), actor="test")


def customer_row(account_id: str, **values: Any) -> dict[str, str]:
    row = {column: "" for column in CUSTOMER_HEADER}
    row["account_id"] = account_id
    row.update({k: str(v) for k, v in values.items()})
    return row


def write_customers(
    path: Path,
    rows: Iterable[dict[str, str] | Sequence[str]],
    header: Sequence[str] = CUSTOMER_HEADER,
    *,
    newline: str = "\n",
    bom: bool = False,
) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return path
