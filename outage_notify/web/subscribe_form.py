"""The sign-up form: the areas it offers, and what a filled-in form asks for.

``web/subscribe.py`` serves the form and the confirmation steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from outage_notify import registry
from outage_notify.contacts import ContactError, normalise_email, normalise_phone
from outage_notify.models import ServiceArea, area_label
from outage_notify.notices.page_words import translate
from outage_notify.notices.texts import join_names
from outage_notify.plain_text import CONTROL_CHARACTERS, has_control_characters
from outage_notify.residents.subscriptions import SignUp
from outage_notify.settings import Settings
from outage_notify.web.language import shipped_language

MAX_AREAS = 500


@dataclass
class FormValues:
    """What the form shows back: the visitor's input as typed."""

    channel: str = ""
    email: str = ""
    phone: str = ""
    areas: list[str] = field(default_factory=list)
    language: str = ""


# Areas are read by these columns only: a service area's polygons can be large.
_AREA_COLUMNS = (
    col(ServiceArea.code),
    col(ServiceArea.name),
    col(ServiceArea.name_en),
    col(ServiceArea.utility),
)


def _labels(session: Session, language: str, codes: list[str] | None = None) -> list[Any]:
    """(code, name in the language, utility) of the areas, all or those of ``codes``."""
    query = select(*_AREA_COLUMNS).order_by(col(ServiceArea.code))
    if codes is not None:
        query = query.where(col(ServiceArea.code).in_(codes))
    return [
        (code, area_label(name, name_en, language), utility)
        for code, name, name_en, utility in session.exec(query).all()
    ]


def area_groups(session: Session, language: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Water areas, then gas areas, each by name in the page's language."""
    labels = _labels(session, language)
    groups = []
    for utility in ("water", "gas"):
        mine = sorted(((c, n) for c, n, u in labels if u == utility), key=lambda p: (p[1], p[0]))
        if mine:
            groups.append((utility, mine))
    return groups


def area_names(session: Session, codes: tuple[str, ...] | list[str], language: str) -> str:
    found = {code: name for code, name, _ in _labels(session, language, list(codes))}
    return join_names([found.get(c, c) for c in codes], language)


def check_form(
    session: Session, settings: Settings, values: FormValues, language: str
) -> tuple[SignUp | None, dict[str, str]]:
    """The sign-up the form asks for, or the message for each field at fault."""
    errors: dict[str, str] = {}
    codes = list(dict.fromkeys(c.strip() for c in values.areas if c.strip()))
    if not codes or len(codes) > MAX_AREAS:
        errors["area"] = translate(language, "subscribe_no_areas")
    else:
        # A code with a control character is no area's (and PostgreSQL refuses NUL in a query).
        plain = [c for c in codes if not has_control_characters(c)]
        known = {
            c
            for c in session.exec(select(ServiceArea.code).where(col(ServiceArea.code).in_(plain)))
        }
        unknown = [c for c in codes if c not in known]
        if unknown:
            shown = CONTROL_CHARACTERS.sub("", unknown[0])[:64]
            errors["area"] = translate(language, "subscribe_unknown_area", code=shown)
    address = ""
    spec = registry.CHANNELS.get(values.channel)
    contact = spec.contact if spec is not None and spec.confirm_by is not None else None
    if contact == "email":
        try:
            address = normalise_email(values.email[:320])
        except ContactError:
            errors["email"] = translate(language, "subscribe_bad_email")
    elif contact == "phone":
        try:
            address = normalise_phone(values.phone[:40], settings.default_region)
        except ContactError:
            errors["phone"] = translate(language, "subscribe_bad_phone")
    else:
        errors["channel"] = translate(language, "subscribe_no_channel")
    chosen = shipped_language(values.language) if values.language else language
    if chosen is None:
        errors["language"] = translate(language, "subscribe_bad_language")
    if errors:
        return None, errors
    return SignUp(values.channel, address, tuple(codes), chosen or language), {}
