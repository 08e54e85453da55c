"""The sign-up form: the areas it offers, and what a filled-in form asks for.

``web/subscribe.py`` serves the form and the confirmation steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from outage_notify import registry
from outage_notify.contacts import ContactError, normalise_email, normalise_phone
from outage_notify.models import ServiceArea
from outage_notify.notices.page_words import translate
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
