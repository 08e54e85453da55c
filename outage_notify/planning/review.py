"""Outages waiting for review: those an untrusted upstream source proposed.

An outage in review has no notices and is not published. Until a planner approves it, changes
from its source are applied in place (a revision each, still no notices); approval makes it
planned and plans its notices exactly as ``outages add`` would have.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from outage_notify.errors import Problem, rejected
from outage_notify.models import Outage, OutageStatus
from outage_notify.planning import timeline
from outage_notify.planning.outages import (
    OutageDraft,
    _bump,
    _revise,
    check_areas,
    check_text,
    check_times,
    get_outage,
)
from outage_notify.settings import Settings


def _require_review(outage: Outage, doing: str) -> None:
    if outage.status != OutageStatus.REVIEW:
        problem = Problem(
            f"outage #{outage.id} is {outage.status}, not waiting for review: it cannot be {doing}",
            conflict=True,
        )
        raise rejected(problem, [problem])


def approve(
    session: Session, outage_id: int, *, settings: Settings, now: datetime, actor: str
) -> Outage:
    """The planner vouches for an outage from an untrusted source: it becomes planned and its
    notices are planned as of ``now``."""
    outage = get_outage(session, outage_id, for_update=True)
    _require_review(outage, "approved")
    # The notice period is the source's business (its work is planned whatever we do);
    # a start already past is not.
    problems = check_times(
        outage.start_at, outage.end_at, settings=settings, now=now, short_notice=True
    )
    if problems:
        raise rejected(f"outage #{outage_id} was not approved:", problems)
    before = _bump(outage)
    outage.status = OutageStatus.PLANNED
    _revise(session, outage, change="approved", actor=actor, before=before)
    span = timeline.sms_span(session, outage, settings)
    timeline.add_notices(
        session, outage, timeline.plan_created(outage, settings=settings, now=now, sms_span=span)
    )
    return outage


def revise_in_review(
    session: Session, outage: Outage, draft: OutageDraft, *, actor: str, cancelled: bool
) -> bool:
    """Apply a source's new version of an outage still in review; True when anything changed.

    Nobody has heard of it yet, so there is nothing to notify: the fields are replaced (a new
    revision, audited) and a cancellation simply cancels it.
    """
    _require_review(outage, "revised")
    problems = check_text(draft.title, draft.description)
    problems += check_areas(session, draft.area_list, draft.utility)
    if draft.start >= draft.end:
        problems.append(Problem("start is not before end", "end"))
    if problems and not cancelled:
        raise rejected(f"outage #{outage.id} was not revised:", problems)
    fields = (
        draft.title.strip(),
        draft.description.strip(),
        draft.start,
        draft.end,
        draft.area_list,
        draft.geometry,
    )
    current = (
        outage.title,
        outage.description,
        outage.start_at,
        outage.end_at,
        list(outage.area_codes),
        outage.geometry,
    )
    if fields == current and not cancelled:
        return False
    before = _bump(outage)
    if cancelled:
        outage.status = OutageStatus.CANCELLED
        outage.cancel_reason = "cancelled upstream before it was approved"
    else:
        outage.title, outage.description = fields[0], fields[1]
        outage.start_at, outage.end_at = draft.start, draft.end
        outage.area_codes, outage.geometry = draft.area_list, draft.geometry
    change = "cancelled" if cancelled else "edited"
    _revise(session, outage, change=change, actor=actor, before=before)
    return True
