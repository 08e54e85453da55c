""" "Am I affected?": the service areas of a point or of an account, as targeting sees them.

A point is matched by polygon (:func:`~outage_notify.planning.areas.areas_at`). An account
is matched the way its notices are (see :mod:`outage_notify.planning.targeting`): the areas
its row names and those its premise lies in. Only area codes leave this module: never the
customer's name, address or contacts. Neither the point nor the account is stored or logged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel import Session, select

from outage_notify.errors import InputError
from outage_notify.models import Customer
from outage_notify.plain_text import has_control_characters
from outage_notify.planning.areas import areas_at

MAX_ACCOUNT = 64
_MAX_NUMBER = 32  # characters of a coordinate as typed


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float


def parse_point(latitude: str | None, longitude: str | None) -> Point:
    """The point the browser sent; InputError (saying what is wrong, not echoing it) when the
    values are missing, not numbers or out of range."""
    values = []
    for name, raw, limit in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        text = (raw or "").strip()
        if not text:
            raise InputError(f"{name} is missing")
        try:
            value = float(text) if len(text) <= _MAX_NUMBER else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{name} is not a number")
        if abs(value) > limit:
            raise InputError(f"{name} must be within -{limit:g}..{limit:g}")
        values.append(value)
    return Point(lon=values[1], lat=values[0])


def point_areas(session: Session, point: Point) -> list[str]:
    return [area.code for area in areas_at(session, point.lon, point.lat)]


def account_areas(session: Session, account: str) -> list[str]:
    """The area codes of the account ``account`` (empty when there is no such account: the
    caller must not tell the two apart)."""
    account = account.strip()
    # A control character (a NUL breaks PostgreSQL's query) is in no account number.
    if not account or len(account) > MAX_ACCOUNT or has_control_characters(account):
        return []
    row = session.exec(
        select(Customer.water_area, Customer.gas_area, Customer.longitude, Customer.latitude).where(
            Customer.account_id == account
        )
    ).first()
    if row is None:
        return []
    water, gas, lon, lat = row
    codes = {c for c in (water, gas) if c}
    if lon is not None and lat is not None:
        codes.update(a.code for a in areas_at(session, lon, lat))
    return sorted(codes)
