"""Generate the demo city, deterministically: ``python config/demo/generate.py``.

Lanxi Bay (澜溪湾) is fictional, and so is everyone in it: names are drawn from lists, phone
numbers from one made-up block, email addresses from the reserved example domains. The output
is committed inside the package, in ``outage_notify/demo_data/`` (so ``outage-notify demo``
works from an installed wheel): ``areas.geojson`` (12 water pressure zones, 6 gas districts),
``customers.csv`` (3,000 customers, one in a hundred with a landline, about one in a hundred
critical-needs), ``opt_outs.csv``. The demo's ``outages.csv`` beside them
is written by hand.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from shapely.geometry import Point, Polygon, mapping

from outage_notify.planning.customer_rows import COLUMNS

# The one copy of the demo city: the package ships it.
OUT = Path(__file__).resolve().parents[2] / "outage_notify" / "demo_data"
SEED = 2026
# Enough for every outage to reach hundreds in both languages, few enough that the demo's
# whole simulated week (about 10,000 messages) runs in seconds.
CUSTOMERS = 3_000
LANDLINE_EVERY = 7  # one customer in a hundred with a phone has a landline
WEST, SOUTH, EAST, NORTH = 120.50, 30.20, 120.74, 30.38

WATER_NAMES = [
    ("北港", "North Harbour"),
    ("老城", "Old Town"),
    ("东坡", "East Slope"),
    ("海湾", "Bayside"),
    ("西山", "West Hills"),
    ("中心", "City Centre"),
    ("学府", "University"),
    ("新港", "New Port"),
    ("南湖", "South Lake"),
    ("工业园", "Industrial Park"),
    ("桥东", "Bridge East"),
    ("滨江", "Riverside"),
]
GAS_NAMES = [
    ("北区", "North District"),
    ("中区", "Central District"),
    ("东区", "East District"),
    ("西南区", "South-West District"),
    ("南区", "South District"),
    ("东南区", "South-East District"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平"
EN_FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Lee", "Kim"]
EN_LAST = ["Chen", "Smith", "Wong", "Garcia", "Müller", "Novak", "Okafor", "Silva", "Brown", "Ito"]
STREETS = [
    ("澜溪路", "Lanxi Road"),
    ("湾港大道", "Harbour Avenue"),
    ("梧桐街", "Plane Tree Street"),
    ("学院路", "College Road"),
    ("望湖路", "Lakeview Road"),
    ("新城大道", "New Town Avenue"),
]


def grid(
    columns: int, rows: int, rng: random.Random, jitter: float
) -> list[list[tuple[float, float]]]:
    """Grid vertices, the inner ones nudged: neighbouring cells share edges, none cross."""
    dx, dy = (EAST - WEST) / columns, (NORTH - SOUTH) / rows
    points = []
    for j in range(rows + 1):
        line = []
        for i in range(columns + 1):
            x, y = WEST + i * dx, SOUTH + j * dy
            if 0 < i < columns:
                x += rng.uniform(-jitter, jitter) * dx
            if 0 < j < rows:
                y += rng.uniform(-jitter, jitter) * dy
            line.append((round(x, 5), round(y, 5)))
        points.append(line)
    return points


def cells(columns: int, rows: int, rng: random.Random) -> list[Polygon]:
    v = grid(columns, rows, rng, jitter=0.25)
    polygons = []
    for j in range(rows - 1, -1, -1):  # north first, so codes read like a map
        for i in range(columns):
            ring = [v[j][i], v[j][i + 1], v[j + 1][i + 1], v[j + 1][i], v[j][i]]
            polygons.append(Polygon(ring))
    return polygons


def features(
    prefix: str, utility: str, polygons: list[Polygon], names: list[tuple[str, str]]
) -> list[dict[str, object]]:
    out = []
    for index, (polygon, (zh, en)) in enumerate(zip(polygons, names, strict=True), start=1):
        assert polygon.is_valid, zh
        kind = "供水压力区" if utility == "water" else "燃气片区"
        out.append(
            {
                "type": "Feature",
                "properties": {
                    "code": f"{prefix}{index:02d}",
                    "name": f"{zh}{kind}",
                    "name_en": f"{en} {'Zone' if utility == 'water' else ''}".strip(),
                    "utility": utility,
                    # The streets a resident knows it by (no random draw: the rest stays put).
                    "description": "、".join(
                        STREETS[(index + step) % len(STREETS)][0] for step in (0, 2)
                    )
                    + "一带",
                },
                "geometry": mapping(polygon),
            }
        )
    return out


def main() -> None:
    rng = random.Random(SEED)
    water = cells(4, 3, rng)
    gas = cells(3, 2, rng)
    collection = {
        "type": "FeatureCollection",
        "features": features("W", "water", water, WATER_NAMES)
        + features("G", "gas", gas, GAS_NAMES),
    }
    (OUT / "areas.geojson").write_text(
        json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    customers, opt_outs = people(rng, water, gas)
    with (OUT / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        # The columns the generator does not fill (service_node) stay empty.
        writer.writerows(row + [""] * (len(COLUMNS) - len(row)) for row in customers)
    with (OUT / "opt_outs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "channel"])
        writer.writerows(opt_outs)


def _zone(point: Point, polygons: list[Polygon], prefix: str) -> str:
    for index, polygon in enumerate(polygons, start=1):
        if polygon.covers(point):
            return f"{prefix}{index:02d}"
    raise AssertionError("every point lies in some zone")


def people(
    rng: random.Random, water: list[Polygon], gas: list[Polygon]
) -> tuple[list[list[str]], list[list[str]]]:
    rows, opt_outs = [], []
    for n in range(1, CUSTOMERS + 1):
        english = rng.random() < 0.3
        lon = rng.uniform(WEST + 0.001, EAST - 0.001)
        lat = rng.uniform(SOUTH + 0.001, NORTH - 0.001)
        point = Point(lon, lat)
        street_zh, street_en = rng.choice(STREETS)
        number = rng.randint(1, 999)
        if english:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
            address = f"{number} {street_en}, Lanxi Bay"
        else:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.randint(1, 2))
            )
            address = f"澜溪湾{street_zh}{number}号"
        phone = f"+86170{n:08d}" if rng.random() > 0.08 else ""
        if phone and n % 100 == LANDLINE_EVERY:  # a fixed line in Hangzhou's 0571: called
            phone = f"+865718{n:07d}"
        email = (
            f"resident{n}@example.{rng.choice(['org', 'com', 'net'])}"
            if rng.random() > 0.15 or not phone
            else ""
        )
        coords_only = rng.random() < 0.10
        has_coords = coords_only or rng.random() < 0.5
        water_area = "" if coords_only else _zone(point, water, "W")
        gas_area = "" if coords_only or rng.random() < 0.35 else _zone(point, gas, "G")
        channels = rng.choice(["", "", "", "sms", "email", "sms;email"])
        contacts = {"sms": phone, "email": email}
        if any(not contacts[c] for c in channels.split(";") if c):
            channels = ""
        rows.append(
            [
                f"LX{n:06d}",
                name,
                phone,
                email,
                "en" if english else "zh-CN",
                address,
                f"{lat:.6f}" if has_coords else "",
                f"{lon:.6f}" if has_coords else "",
                water_area,
                gas_area,
                channels,
                "true" if rng.random() < 0.01 else "false",
            ]
        )
        if rng.random() < 0.02:
            opt_outs.append([f"LX{n:06d}", "sms" if phone else "email"])
    return rows, opt_outs


if __name__ == "__main__":
    main()
