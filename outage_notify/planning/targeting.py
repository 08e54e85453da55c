"""Who an outage affects, and on which channels they hear about it.

A customer is affected by an outage of utility U when their ``U_area`` is one of the outage's
areas, or when their location lies inside one of those areas' polygons: the union, because a
missed resident is worse than an extra notice. Subscribers match by area. Channel preferences,
opt-outs and contacts flagged invalid are applied here, and one contact gets one message even
when several accounts share it.

The polygon test is vectorised (shapely 2 ``intersects_xy`` on a prepared union, after a
bounding-box filter in SQL), never a Python loop per customer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.models import (
    Customer,
    Delivery,
    DeliveryState,
    Notice,
    OptOut,
    Outage,
    ServiceArea,
    Subscriber,
)
from outage_notify.planning import network_match
from outage_notify.planning.reach import Reach, reach

_ID_CHUNK = 5_000  # ids per IN (...) when reading the matched rows
# What counts as "already notified" for the follow-up notices (changed, cancelled, ...).
NOTIFIED_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED)


@dataclass(frozen=True)
class Recipient:
    channel: str  # a name in the channel registry
    address: str  # E.164 phone number or normalised email address
    language: str
    customer_id: int | None
    subscriber_id: int | None
    matched_by: str  # "area_code" | "polygon" | "both" | "network" | "subscription" | "notified"
    critical: bool = False

    @property
    def recipient_id(self) -> str:
        """How logs name the recipient: never by the address."""
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"subscriber:{self.subscriber_id}"


@dataclass(frozen=True)
class Skipped:
    """An affected premise or subscriber left out on one channel, and why."""

    channel: str
    reason: str  # "opted_out" | "invalid_contact" | "no_contact"
    address: str | None
    customer_id: int | None
    subscriber_id: int | None
    language: str


@dataclass
class Targeting:
    recipients: list[Recipient] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    by_match: dict[str, int] = field(default_factory=dict)
    affected_customers: int = 0
    affected_subscribers: int = 0

    def count_by(self, *keys: str) -> dict[str, int]:
        """Recipients counted by attribute(s), e.g. ``count_by("channel", "language")``."""
        counts = Counter("/".join(str(getattr(r, k)) for k in keys) for r in self.recipients)
        return dict(sorted(counts.items()))


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
)
# Where each Customer column sits in a matched row. A channel reads its contact and its
# invalid flag by the column names its registry descriptor gives.
_AT: dict[str, int] = {column.key: i for i, column in enumerate(_COLUMNS)}  # type: ignore[attr-defined]


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
    pipes = network_match.outage_pipes(session, outage.id)
    if not pipes:
        return match_customers(session, outage, critical_only=critical_only)
    ids, _isolation = network_match.cut_off_customer_ids(
        session, pipes, critical_only=critical_only
    )
    connection = session.connection()
    matched: dict[int, tuple[Any, str]] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        query = select(*_COLUMNS).where(col(Customer.id).in_(ids[start : start + _ID_CHUNK]))
        for row in connection.execute(query).all():
            matched[row[0] or 0] = (row, "network")
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
    boxes = or_(
        *(
            and_(
                col(Customer.longitude).between(a.min_lon, a.max_lon),
                col(Customer.latitude).between(a.min_lat, a.max_lat),
            )
            for a in areas
        )
    )
    points = select(col(Customer.id), col(Customer.longitude), col(Customer.latitude))
    rows = [tuple(row) for row in session.connection().execute(points.where(boxes, *extra)).all()]
    if not rows:
        return np.empty(0, dtype=np.int64)
    table = np.array(rows, dtype=np.float64)
    # intersects, not contains: a customer exactly on a boundary is affected.
    inside = shapely.intersects_xy(union, table[:, 1], table[:, 2])
    return np.unique(table[inside, 0].astype(np.int64))


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


def customer_contacts(row: Any) -> dict[str, tuple[str | None, bool]]:
    """{channel: (address, flagged invalid)} of a matched row, for every registered channel."""
    return {
        name: (row[_AT[spec.contact]], bool(row[_AT[spec.invalid_flag]]))
        for name, spec in registry.CHANNELS.items()
    }


def customer_reach(chosen: str, contacts: dict[str, tuple[str | None, bool]]) -> Reach:
    """The channels a customer is reached on (planning/reach.py): those named in
    ``Customer.channels`` that have a contact, else every channel it has a contact for."""
    return reach(chosen or "", {c: address for c, (address, _invalid) in contacts.items()})


def wanted_channels(chosen: str, contacts: dict[str, tuple[str | None, bool]]) -> list[str]:
    """The chosen channels it has no contact for (to be skipped as no_contact), then the
    channels it is reached on."""
    found = customer_reach(chosen, contacts)
    return [*found.missing, *found.channels]


def _customer_channels(row: Any) -> list[tuple[str, str | None, bool]]:
    """(channel, address, flagged invalid) for each channel the customer is reached on, after
    any chosen channel it has no contact for (address None: skipped as no_contact, so the
    report can say what was asked for)."""
    contacts = customer_contacts(row)
    return [(c, *contacts[c]) for c in wanted_channels(row[_AT["channels"]], contacts)]


def _opted_out(session: Session) -> set[tuple[str, str]]:
    # Opt-outs are few next to customers: one read beats a query per batch of addresses.
    return {(c, a) for c, a in session.execute(select(col(OptOut.channel), col(OptOut.address)))}


class _Builder:
    def __init__(self, opted_out: set[tuple[str, str]]) -> None:
        self.opted_out = opted_out
        self.result = Targeting()
        self.seen: set[tuple[str, str]] = set()

    def offer(self, recipient: Recipient) -> None:
        key = (recipient.channel, recipient.address)
        if key in self.opted_out:
            self.skip(recipient, "opted_out")
        elif key not in self.seen:
            self.seen.add(key)
            self.result.recipients.append(recipient)

    def skip(self, recipient: Recipient, reason: str, address: str | None = "") -> None:
        self.result.skipped.append(
            Skipped(
                channel=recipient.channel,
                reason=reason,
                address=recipient.address if address == "" else address,
                customer_id=recipient.customer_id,
                subscriber_id=recipient.subscriber_id,
                language=recipient.language,
            )
        )


def target(session: Session, outage: Outage, *, audience: str = "all") -> Targeting:
    """The recipients of a notice about ``outage`` for ``audience`` (all, critical, notified)."""
    if audience == "notified":
        return _notified(session, outage)
    if audience not in ("all", "critical"):
        raise ValueError(f"unknown audience {audience!r}")
    builder = _Builder(_opted_out(session))
    customers = match_outage_customers(session, outage, critical_only=audience == "critical")
    builder.result.affected_customers = len(customers)
    builder.result.by_match = dict(Counter(how for _row, how in customers.values()))
    for customer_id in sorted(customers):
        row, how = customers[customer_id]
        for channel, address, invalid in _customer_channels(row):
            recipient = Recipient(
                channel, address or "", row[3], customer_id, None, how, bool(row[5])
            )
            if not address:
                builder.skip(recipient, "no_contact", address=None)
            elif invalid:
                builder.skip(recipient, "invalid_contact")
            else:
                builder.offer(recipient)
    if audience == "all":
        subscribers = _subscribers(session, outage.area_codes)
        builder.result.affected_subscribers = len(subscribers)
        if subscribers:
            builder.result.by_match["subscription"] = len(subscribers)
        for sub in subscribers:
            assert sub.id is not None
            builder.offer(
                Recipient(sub.channel, sub.address, sub.language, None, sub.id, "subscription")
            )
    return builder.result


def _subscribers(session: Session, area_codes: Iterable[str]) -> list[Subscriber]:
    rows = session.exec(
        select(Subscriber)  # type: ignore[call-overload]
        .where(col(Subscriber.area_code).in_(list(area_codes)), col(Subscriber.status) == "active")
        .order_by(col(Subscriber.id))
    ).scalars()
    return list(rows)


def _notified(session: Session, outage: Outage) -> Targeting:
    """Everyone a notice of this outage already reached, on the channel that reached them."""
    builder = _Builder(_opted_out(session))
    rows = session.execute(
        select(
            col(Delivery.channel),
            col(Delivery.address),
            col(Delivery.language),
            col(Delivery.customer_id),
            col(Delivery.subscriber_id),
        )
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(col(Notice.outage_id) == outage.id, col(Delivery.state).in_(NOTIFIED_STATES))
        .order_by(col(Delivery.id))
    )
    for channel, address, language, customer_id, subscriber_id in rows:
        builder.offer(Recipient(channel, address, language, customer_id, subscriber_id, "notified"))
    builder.result.by_match = dict(Counter(r.matched_by for r in builder.result.recipients))
    return builder.result
