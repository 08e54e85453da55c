"""Which customers an outage affects: by area code, by location inside the areas' polygons,
or, for an outage planned by pipe, by the valves that isolate it (``network_match``).

The polygon test is vectorised (shapely 2 ``intersects_xy`` on a prepared union, after a
bounding-box filter in SQL), never a Python loop per customer. :func:`match_customers` holds
every match at once (the reports); :func:`stream_matches` gives them in id order a chunk at a
time, so expanding a notice to a whole city holds a few thousand rows, not a million.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import ARRAY, Integer, and_, any_, exists, func, literal, not_, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.geo import inside as inside_polygon
from outage_notify.models import Customer, OptOut, Outage, ServiceArea, Subscriber
from outage_notify.planning import network_match

_ID_CHUNK = 5_000  # ids per IN (...) when reading the matched rows
_POINT_CHUNK = 50_000  # coordinates tested against the polygons at once
STREAM_CHUNK = 5_000  # rows fetched at a time by stream_matches

# Columns read for matching: plain tuples, because a million ORM objects cost seconds.
_COLUMNS = (
    col(Customer.id),
    col(Customer.phone),
    col(Customer.email),
    col(Customer.language),
    col(Customer.channels),
    col(Customer.critical),
    col(Customer.phone_invalid),
    col(Customer.email_invalid),
    col(Customer.voice_invalid),
    col(Customer.landline),
)


# Where each Customer column sits in a matched row. A channel reads its contact and its
# invalid flag by the column names its registry descriptor gives.
COLUMN_AT: dict[str, int] = {column.key: i for i, column in enumerate(_COLUMNS)}  # type: ignore[attr-defined]


def area_union(areas: Sequence[ServiceArea]) -> shapely.Geometry | None:
    """The prepared union of the areas' polygons (None when there are none)."""
    geometries = [shape(area.geometry) for area in areas]
    if not geometries:
        return None
    union = shapely.union_all(geometries)
    shapely.prepare(union)
    return union


def _area_rows(session: Session, outage: Outage) -> list[ServiceArea]:
    return list(
        session.exec(
            select(ServiceArea).where(  # type: ignore[call-overload]
                col(ServiceArea.code).in_(outage.area_codes),
                col(ServiceArea.utility) == outage.utility,
            )
        ).scalars()
    )


def match_customers(
    session: Session, outage: Outage, *, critical_only: bool = False
) -> dict[int, tuple[Any, str]]:
    """Affected customers: id -> (row of ``_COLUMNS``, how they matched)."""
    # Core rows through the connection: the ORM's per-row bookkeeping costs seconds here.
    connection = session.connection()
    extra = [col(Customer.critical).is_(True)] if critical_only else []
    if outage.geometry:
        return match_geometry(session, outage, extra)
    area_column = Customer.water_area if outage.utility == "water" else Customer.gas_area
    by_code = select(*_COLUMNS).where(col(area_column).in_(outage.area_codes), *extra)
    # .all(): one fetchall, where iterating the result fetches row by row.
    code_rows: list[Any] = list(connection.execute(by_code).all())
    matched: dict[int, tuple[Any, str]] = {row[0]: (row, "area_code") for row in code_rows}
    polygon_only = []
    for customer_id in _inside_ids(session, outage, extra).tolist():
        if customer_id in matched:
            matched[customer_id] = (matched[customer_id][0], "both")
        else:
            polygon_only.append(customer_id)
    for start in range(0, len(polygon_only), _ID_CHUNK):
        chunk = polygon_only[start : start + _ID_CHUNK]
        rows: list[Any] = list(
            connection.execute(select(*_COLUMNS).where(col(Customer.id).in_(chunk))).all()
        )
        for row in rows:
            matched[row[0]] = (row, "polygon")
    return matched


def match_outage_customers(
    session: Session, outage: Outage, *, critical_only: bool = False
) -> dict[int, tuple[Any, str]]:
    """Affected customers: by valve isolation for a network outage (matched by "network"),
    else by area (``match_customers``)."""
    network = _network_ids(session, outage, critical_only=critical_only)
    if network is None:
        return match_customers(session, outage, critical_only=critical_only)
    return {int(row[0]): (row, how) for row, how in _rows_of(session, network, "network")}


def _network_ids(session: Session, outage: Outage, *, critical_only: bool) -> list[int] | None:
    """The ids valve isolation cuts off, sorted, for an outage planned by pipe; else None."""
    pipes = network_match.outage_pipes(session, outage.id)
    if not pipes:
        return None
    ids, _isolation = network_match.cut_off_customer_ids(
        session, pipes, critical_only=critical_only
    )
    return sorted(ids)


def _rows_of(session: Session, ids: Sequence[int], how: str) -> Iterator[tuple[Any, str]]:
    connection = session.connection()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = list(ids[start : start + _ID_CHUNK])
        query = select(*_COLUMNS).where(col(Customer.id).in_(chunk)).order_by(col(Customer.id))
        for row in connection.execute(query).all():
            yield row, how


def match_geometry(
    session: Session, outage: Outage, extra: list[Any]
) -> dict[int, tuple[Any, str]]:
    """Customers of an outage with its own geometry (an upstream feed's polygon): those whose
    location lies inside it, and those without a location in one of its areas (they cannot be
    placed, and a missed resident is worse than an extra notice)."""
    assert outage.geometry is not None
    place = shapely.make_valid(shape(outage.geometry))
    shapely.prepare(place)
    min_lon, min_lat, max_lon, max_lat = place.bounds
    connection = session.connection()
    points = select(col(Customer.id), col(Customer.longitude), col(Customer.latitude)).where(
        col(Customer.longitude).between(min_lon, max_lon),
        col(Customer.latitude).between(min_lat, max_lat),
        *extra,
    )
    rows = [tuple(row) for row in connection.execute(points).all()]
    inside: list[int] = []
    if rows:
        table = np.array(rows, dtype=np.float64)
        hits = shapely.intersects_xy(place, table[:, 1], table[:, 2])
        inside = np.unique(table[hits, 0].astype(np.int64)).tolist()
    matched: dict[int, tuple[Any, str]] = {}
    for start in range(0, len(inside), _ID_CHUNK):
        chunk = inside[start : start + _ID_CHUNK]
        found: list[Any] = list(
            connection.execute(select(*_COLUMNS).where(col(Customer.id).in_(chunk))).all()
        )
        for row in found:
            matched[row[0]] = (row, "polygon")
    area_column = Customer.water_area if outage.utility == "water" else Customer.gas_area
    unplaced = select(*_COLUMNS).where(
        col(area_column).in_(outage.area_codes),
        or_(col(Customer.longitude).is_(None), col(Customer.latitude).is_(None)),
        *extra,
    )
    unplaced_rows: list[Any] = list(connection.execute(unplaced).all())
    for row in unplaced_rows:
        matched.setdefault(row[0], (row, "area_code"))
    return matched


def _inside_ids(session: Session, outage: Outage, extra: list[Any]) -> np.ndarray:
    """Ids of the customers whose location lies in one of the outage's areas.

    Only ids and coordinates cross from SQL (one bounding box per area, not the union's, which
    for spread-out areas would be most of the city; ix_customer_lon_lat serves each range);
    the polygon test is one vectorised call.
    """
    areas = _area_rows(session, outage)
    union = area_union(areas)
    if union is None:
        return np.empty(0, dtype=np.int64)
    points = select(col(Customer.id), col(Customer.longitude), col(Customer.latitude))
    found = [np.empty(0, dtype=np.int64)]
    # In partitions, and streamed (a server-side cursor on PostgreSQL, whose driver would
    # otherwise hold the whole result): a million (id, lon, lat) rows cost over 100 MB.
    result = session.connection().execute(
        points.where(_boxes(areas), *extra),
        execution_options={"stream_results": True, "yield_per": _POINT_CHUNK},
    )
    for part in result.partitions():
        table = np.array([tuple(row) for row in part], dtype=np.float64)
        # A customer exactly on a boundary is affected (geo.inside).
        within = inside_polygon(union, table[:, 1], table[:, 2])
        found.append(table[within, 0].astype(np.int64))
    return np.unique(np.concatenate(found))


def _boxes(areas: Sequence[ServiceArea]) -> Any:
    """Located in one of the areas' bounding boxes (one box per area, not the union's, which
    for spread-out areas would be most of the city; ix_customer_lon_lat serves each range)."""
    return or_(
        *(
            and_(
                col(Customer.longitude).between(a.min_lon, a.max_lon),
                col(Customer.latitude).between(a.min_lat, a.max_lat),
            )
            for a in areas
        )
    )


def _chooses(descriptor: registry.ChannelSpec) -> Any:
    named = col(Customer.channels).contains(descriptor.name)
    if not descriptor.by_default:
        return named
    return or_(col(Customer.channels) == "", named, _falls_back())


def _falls_back() -> Any:
    """None of the customer's chosen channels has a contact: every channel offered by default
    that it has a contact for is used instead (planning/reach.py)."""
    return and_(
        *(
            not_(
                and_(
                    col(Customer.channels).contains(spec.name),
                    col(getattr(Customer, spec.contact)).is_not(None),
                    col(getattr(Customer, spec.contact)) != "",
                )
            )
            for spec in registry.CHANNELS.values()
        )
    )


def _wants(descriptor: registry.ChannelSpec) -> Any:
    """Customers who may get ``descriptor``'s channel (``registry.wanted`` in SQL, erring
    high: a stand-in's flag is not taken off the channel it stands in for)."""
    stands_in_for = registry.CHANNELS.get(descriptor.stands_in_for or "")
    if stands_in_for is None or descriptor.stands_in_when is None:
        return _chooses(descriptor)
    flag = col(getattr(Customer, descriptor.stands_in_when)).is_(True)
    return or_(_chooses(descriptor), and_(_chooses(stands_in_for), flag))


def count_recipients(session: Session, outage: Outage, channel: str) -> int:
    """About ``len(target(...).recipients)`` on ``channel``, from counts: nothing is listed.

    Opt-outs, flagged contacts and channel choices are applied in SQL; a number shared by an
    area-code match and a polygon-only match (or by a customer and a subscriber) counts twice,
    so this errs high: sizing a quiet-hours shift from it starts the fan-out early, never late.
    Those matched by area code are one aggregate query; of the rest, only the contacts and
    coordinates of customers inside an area's bounding box (and not of the outage's areas by
    code) cross from SQL, for the polygon test.
    """
    descriptor = registry.spec(channel)
    contact = col(getattr(Customer, descriptor.contact))
    invalid = getattr(Customer, descriptor.invalid_flag)
    area_column = col(Customer.water_area if outage.utility == "water" else Customer.gas_area)
    reachable = [
        contact.is_not(None),
        contact != "",
        col(invalid).is_(False),
        _wants(descriptor),
        ~exists().where(col(OptOut.channel) == channel, col(OptOut.address) == contact),
    ]
    distinct = select(func.count(func.distinct(contact)))
    connection = session.connection()
    listed = _network_ids(session, outage, critical_only=False)
    if listed is None and outage.geometry:
        listed = sorted(match_geometry(session, outage, []))
    if listed is not None:
        total = sum(
            int(connection.execute(distinct.where(chunk, *reachable)).scalar() or 0)
            for chunk in _id_chunks(connection, listed)
        )
        return total + _subscriber_count(session, outage, channel)
    by_code = distinct.where(area_column.in_(outage.area_codes), *reachable)
    total = int(connection.execute(by_code).scalar() or 0)
    elsewhere = or_(area_column.is_(None), area_column.not_in(outage.area_codes))
    total += _contacts_inside(session, outage, contact, [elsewhere, *reachable])
    return total + _subscriber_count(session, outage, channel)


def _contacts_inside(session: Session, outage: Outage, contact: Any, where: list[Any]) -> int:
    """Distinct ``contact`` values of the customers matching ``where`` whose location lies in
    one of the outage's areas (``_inside_ids``' test, reading the contact with the point)."""
    areas = _area_rows(session, outage)
    union = area_union(areas)
    if union is None:
        return 0
    points = select(contact, col(Customer.longitude), col(Customer.latitude)).where(
        _boxes(areas), *where
    )
    found: set[str] = set()
    for part in session.connection().execute(points).partitions(_POINT_CHUNK):
        table = np.array([(row[1], row[2]) for row in part], dtype=np.float64)
        within = inside_polygon(union, table[:, 0], table[:, 1]).tolist()
        found.update(row[0] for row, hit in zip(part, within, strict=True) if hit)
    return len(found)


def _id_chunks(connection: Connection, ids: Sequence[int]) -> Iterator[Any]:
    """``Customer.id`` among ``ids`` as WHERE clauses: on PostgreSQL one ``= ANY(array)``
    (one parameter, however many ids), elsewhere ``IN (...)`` of ``_ID_CHUNK`` ids each."""
    if connection.dialect.name == "postgresql":
        yield col(Customer.id) == any_(literal(list(ids), ARRAY(Integer)))
        return
    for start in range(0, len(ids), _ID_CHUNK):
        yield col(Customer.id).in_(ids[start : start + _ID_CHUNK])


def _subscriber_count(session: Session, outage: Outage, channel: str) -> int:
    subscribers = select(func.count()).where(
        col(Subscriber.area_code).in_(outage.area_codes),
        col(Subscriber.status) == "active",
        col(Subscriber.channel) == channel,
        ~exists().where(
            col(OptOut.channel) == channel, col(OptOut.address) == col(Subscriber.address)
        ),
    )
    return int(session.connection().execute(subscribers).scalar() or 0)


def stream_matches(
    session: Session, outage: Outage, *, critical_only: bool = False
) -> Iterator[tuple[Any, str]]:
    """Affected customers as (row of ``_COLUMNS``, how they matched), in id order, as
    :func:`match_customers` finds them, fetched ``STREAM_CHUNK`` rows at a time."""
    network = _network_ids(session, outage, critical_only=critical_only)
    if network is not None:
        yield from _rows_of(session, network, "network")
        return
    connection = session.connection()
    extra = [col(Customer.critical).is_(True)] if critical_only else []
    if outage.geometry:  # an upstream feed's own polygon: small, matched at once
        matched = match_geometry(session, outage, extra)
        yield from (matched[customer_id] for customer_id in sorted(matched))
        return
    area_column = col(Customer.water_area if outage.utility == "water" else Customer.gas_area)
    inside = _inside_ids(session, outage, extra)  # sorted; 8 bytes an id

    def by_code() -> Iterator[tuple[Any, str]]:
        rows = connection.execute(
            select(*_COLUMNS)
            .where(area_column.in_(outage.area_codes), *extra)
            .order_by(col(Customer.id)),
            execution_options={"stream_results": True, "yield_per": STREAM_CHUNK},
        )
        for part in rows.partitions():
            ids = np.fromiter((row[0] for row in part), dtype=np.int64, count=len(part))
            both = np.isin(ids, inside, assume_unique=True).tolist()
            for row, in_polygon in zip(part, both, strict=True):
                yield row, "both" if in_polygon else "area_code"

    def by_polygon_only() -> Iterator[tuple[Any, str]]:
        elsewhere = or_(area_column.is_(None), area_column.not_in(outage.area_codes))
        for start in range(0, len(inside), _ID_CHUNK):
            chunk = inside[start : start + _ID_CHUNK].tolist()
            rows = connection.execute(
                select(*_COLUMNS)
                .where(col(Customer.id).in_(chunk), elsewhere, *extra)
                .order_by(col(Customer.id))
            ).all()
            for row in rows:
                yield row, "polygon"

    # Both runs are in id order: merged, the customers come as match_customers sorts them.
    yield from heapq.merge(by_code(), by_polygon_only(), key=lambda match: int(match[0][0]))
