"""The ``ref`` rule, shared by the REST API and the CSV import.

A ref (the work-management system's work order number) names at most one outage. A request
with a new ref plans an outage; one with a known ref is compared, field by field, with the
outage the ref names: the API answers a retry (the same values as revision 1) with that
outage and refuses other values, the import turns the differences into a change.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from outage_notify.models import Outage, OutageRevision
from outage_notify.plain_text import has_control_characters
from outage_notify.planning.outages import OutageDraft

FIELDS = ("utility", "title", "description", "start", "end", "areas")


def by_ref(session: Session, ref: str | None) -> Outage | None:
    """The outage ``ref`` names, if any: an empty ref names none, nor one with a control
    character (the planning checks refuse those)."""
    ref = (ref or "").strip()
    if not ref or has_control_characters(ref):
        return None
    return session.exec(select(Outage).where(Outage.ref == ref)).first()


def asked(draft: OutageDraft) -> dict[str, Any]:
    """What a draft asks for, as compared with an outage."""
    return {
        "utility": draft.utility,
        "title": draft.title.strip(),
        "description": draft.description.strip(),
        "start": draft.start,
        "end": draft.end,
        "areas": draft.area_list,
    }


def planned(outage: Outage, revision: OutageRevision | None = None) -> dict[str, Any]:
    """What the outage is (or was as of ``revision``), as compared with a draft."""
    now: Any = revision if revision is not None else outage
    return {
        "utility": outage.utility,
        "title": now.title,
        "description": now.description,
        "start": now.start_at,
        "end": now.end_at,
        "areas": list(now.area_codes),
    }


def differing(
    outage: Outage, draft: OutageDraft, revision: OutageRevision | None = None
) -> list[str]:
    """The fields in which ``draft`` differs from the outage (as of ``revision``)."""
    is_, wants = planned(outage, revision), asked(draft)
    return [name for name in FIELDS if is_[name] != wants[name]]
