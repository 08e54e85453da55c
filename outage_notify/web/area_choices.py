"""The areas a visitor chooses from (``/subscribe``, the "am I affected?" answer): named in
the page's language, with the streets each covers, in the order people read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from outage_notify.models import ServiceArea
from outage_notify.notices.collation import in_reading_order
from outage_notify.notices.texts import join_names

# Areas are read by these columns only: a service area's polygons can be large.
_AREA_COLUMNS = (
    col(ServiceArea.code),
    col(ServiceArea.name),
    col(ServiceArea.name_en),
    col(ServiceArea.utility),
    col(ServiceArea.description),
)


@dataclass(frozen=True)
class AreaChoice:
    code: str
    label: str  # the name in the page's language
    utility: str
    description: str  # the streets it covers ("" when the GeoJSON had none)


def area_choices(
    session: Session, language: str, codes: list[str] | None = None
) -> list[AreaChoice]:
    """The areas, all or those of ``codes``, in reading order."""
    query = select(*_AREA_COLUMNS)
    if codes is not None:
        query = query.where(col(ServiceArea.code).in_(codes))
    choices = [
        AreaChoice(code, name_en if language == "en" and name_en else name, utility, text or "")
        for code, name, name_en, utility, text in session.execute(query).all()
    ]
    return in_reading_order(choices, lambda c: c.label, language)


def area_groups(session: Session, language: str) -> list[tuple[str, list[AreaChoice]]]:
    """Water areas, then gas areas, each in reading order."""
    choices = area_choices(session, language)
    groups = []
    for utility in ("water", "gas"):
        mine = [c for c in choices if c.utility == utility]
        if mine:
            groups.append((utility, mine))
    return groups


def area_names(session: Session, codes: tuple[str, ...] | list[str], language: str) -> str:
    found = {c.code: c.label for c in area_choices(session, language, list(codes))}
    return join_names([found.get(c, c) for c in codes], language)
