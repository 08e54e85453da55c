"""One row of a customers CSV: checked and normalised, or the reasons it is rejected.

Plain functions rather than a pydantic model: they run a million times per import, and the
messages are written for a planner fixing a spreadsheet.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from outage_notify import registry
from outage_notify.contacts import ContactError, normalise_email, phone_contact
from outage_notify.plain_text import control_character_problem, has_control_characters
from outage_notify.settings import SHIPPED_LANGUAGES

COLUMNS = (
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
    "service_node",  # optional: the network junction or pipe the premise is fed from
)
# Columns a rejects file adds; importing a corrected rejects file ignores them.
ANNOTATION_COLUMNS = ("line", "reason")
LIMITS = {"account_id": 64, "name": 200, "address": 500, "email": 320, "service_node": 64}
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f", ""})
T = TypeVar("T")
_LANGUAGES = {language.lower().replace("_", "-"): language for language in SHIPPED_LANGUAGES}


class CustomerRow(NamedTuple):
    """A valid row, normalised, in the order of ``COLUMNS``, plus its digest."""

    account_id: str
    name: str
    phone: str | None
    email: str | None
    language: str
    address: str
    latitude: float | None
    longitude: float | None
    water_area: str | None
    gas_area: str | None
    channels: str
    critical: bool
    service_node: str | None
    row_hash: str
    landline: bool = False  # the phone is a fixed line (not in the digest: the phone is)


@dataclass(frozen=True)
class RowRules:
    """What a row is checked against: the settings and the areas that exist."""

    region: str
    default_language: str
    water_areas: Collection[str]
    gas_areas: Collection[str]


def check_row(values: dict[str, str], rules: RowRules) -> CustomerRow | list[str]:
    """The normalised row, or every reason it is rejected (never raises on bad input)."""
    problems: list[str] = []
    text = {column: (values.get(column) or "").strip() for column in COLUMNS}
    if has_control_characters("\t".join(text.values())):  # the row first, then which column
        problems += [p for c, v in text.items() if (p := control_character_problem(c, v))]
    for column, limit in LIMITS.items():
        if len(text[column]) > limit:
            problems.append(f"{column} is longer than {limit} characters")
    if not text["account_id"]:
        problems.append("account_id is empty")
    phone_facts = _contact(
        text["phone"], "phone", lambda v: phone_contact(v, rules.region), problems
    )
    phone, landline = phone_facts if phone_facts else (None, False)
    email = _contact(text["email"], "email", normalise_email, problems)
    if not text["phone"] and not text["email"]:
        problems.append("needs a phone or an email")
    language = _language(text["language"], rules.default_language, problems)
    latitude, longitude = _location(text["latitude"], text["longitude"], problems)
    water = _area(text["water_area"], "water_area", rules.water_areas, rules.gas_areas, problems)
    gas = _area(text["gas_area"], "gas_area", rules.gas_areas, rules.water_areas, problems)
    channels = _channels(text["channels"], problems)
    critical = _flag(text["critical"], problems)
    if problems:
        return problems
    fields = (
        text["account_id"],
        text["name"],
        phone,
        email,
        language,
        text["address"],
        latitude,
        longitude,
        water,
        gas,
        channels,
        critical,
    )
    service_node = text["service_node"] or None
    # Without a service_node the digest is the one it was before the column existed.
    digest = row_digest(fields if service_node is None else (*fields, service_node))
    return CustomerRow(*fields, service_node, row_hash=digest, landline=landline)


def row_digest(fields: tuple[object, ...]) -> str:
    """A digest of the normalised values: the same customer written differently is unchanged."""
    joined = "\x1f".join("" if v is None else str(v) for v in fields)
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=16).hexdigest()


def _contact(
    value: str, column: str, normalise: Callable[[str], T], problems: list[str]
) -> T | None:
    if not value:
        return None
    try:
        return normalise(value)
    except ContactError as exc:
        # The value itself is left out: messages and logs never carry a contact address.
        problems.append(f"{column} is {exc}")
        return None


def _language(value: str, default: str, problems: list[str]) -> str:
    if not value:
        return default
    language = _LANGUAGES.get(value.lower().replace("_", "-"))
    if language is None:
        problems.append(f"language {value!r} is not one we ship ({', '.join(SHIPPED_LANGUAGES)})")
        return default
    return language


def _location(
    lat_text: str, lon_text: str, problems: list[str]
) -> tuple[float | None, float | None]:
    if not lat_text and not lon_text:
        return None, None
    if not lat_text or not lon_text:
        problems.append("latitude and longitude go together: give both or neither")
        return None, None
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        problems.append(f"latitude/longitude {lat_text!r}, {lon_text!r} are not numbers")
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        problems.append("latitude/longitude must be finite numbers")
        return None, None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    if abs(lon) <= 90 < abs(lat) <= 180:
        problems.append(
            f"latitude {lat:g} is out of range (-90..90): are latitude and longitude swapped?"
        )
    else:
        problems.append(f"latitude {lat:g} / longitude {lon:g} out of range (-90..90 / -180..180)")
    return None, None


def _area(
    value: str,
    column: str,
    own: Collection[str],
    other: Collection[str],
    problems: list[str],
) -> str | None:
    if not value:
        return None
    if value in own:
        return value
    if value in other:
        utility = "gas" if column == "water_area" else "water"
        problems.append(f"{column} {value!r} is a {utility} area")
    else:
        problems.append(
            f"{column} {value!r} is not a known area (import it with `outage-notify areas import`)"
        )
    return None


def _channels(value: str, problems: list[str]) -> str:
    if not value:
        return ""
    names = registry.names()
    chosen = {part.strip().lower() for part in value.replace(",", ";").split(";") if part.strip()}
    unknown = sorted(chosen - set(names))
    if unknown:
        problems.append(f"channels {value!r}: use {', '.join(names)}, separated by ;")
        return ""
    # A channel without its contact is accepted: the customer is reached on what they can be
    # reached on (see planning/reach.py), never dropped for a billing export's drift.
    return ";".join(c for c in names if c in chosen)


def _flag(value: str, problems: list[str]) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        problems.append(f"critical {value!r} is not true or false")
    return False
