"""Outages and their lifecycle: plan, reschedule, extend, cancel, restore.

Each function takes the caller's Session (it commits with the caller), the settings, ``now``
and the ``actor``; the CLI and the REST API call the very same ones, so validation, the
revision history, the audit log and the notice timeline are the same whichever way a change
comes in. Every change is a new revision: ``Outage.revision`` goes up by one, an
``OutageRevision`` row keeps the state as of that revision (revision 1 included), and an
audit event keeps who changed what, before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from outage_notify import audit
from outage_notify.db import utcnow
from outage_notify.errors import InputError, NotFoundError, Problem, rejected
from outage_notify.models import (
    Outage,
    OutagePipe,
    OutageStatus,
)
from outage_notify.plain_text import control_character_problem
from outage_notify.planning import superseding, timeline
from outage_notify.planning.outage_checks import (
    REASON_MAX,
    OutageDraft,
    check_draft,
    check_extend,
    check_reschedule,
    check_text,
    not_planned,
    shown,
)
from outage_notify.settings import Settings


def plan_outage(
    session: Session,
    draft: OutageDraft,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    short_notice: bool = False,
    long_shutoff: bool = False,
    review: bool = False,
) -> Outage:
    """Check the draft, create the outage (revision 1) and its notices. InputError lists
    every problem and nothing is written. ``review``: the outage waits for a planner's
    approval (planning.review) and gets its notices only then."""
    problems = check_draft(
        session,
        draft,
        settings=settings,
        now=now,
        short_notice=short_notice,
        long_shutoff=long_shutoff,
    )
    if problems:
        raise rejected("the outage was not planned:", problems)
    outage = Outage(
        ref=draft.ref.strip() if draft.ref else None,
        utility=draft.utility,
        title=draft.title.strip(),
        description=draft.description.strip(),
        start_at=draft.start,
        end_at=draft.end,
        area_codes=draft.area_list,
        geometry=draft.geometry,
        status=OutageStatus.REVIEW if review else OutageStatus.PLANNED,
        short_notice=short_notice,
        created_by=actor[:64],
    )
    session.add(outage)
    try:
        session.flush()
    except IntegrityError:
        # Another planner took the ref between the check and the insert.
        problem = Problem(
            f"ref {outage.ref} is already used by another outage", "ref", conflict=True
        )
        raise rejected(problem, [problem]) from None
    for pipe in dict.fromkeys(draft.pipes):
        session.add(OutagePipe(outage_id=outage.id or 0, pipe=pipe))
    _revise(session, outage, change="created", actor=actor, before=None)
    if review:
        return outage
    span = timeline.sms_span(session, outage, settings)
    planned = timeline.plan_created(outage, settings=settings, now=now, sms_span=span)
    timeline.add_notices(session, outage, planned)
    return outage


def get_outage(session: Session, outage_id: int, *, for_update: bool = False) -> Outage:
    query = select(Outage).where(Outage.id == outage_id)
    if for_update:
        # Two planners changing one outage at once queue here on PostgreSQL (SQLite's
        # write transactions are serial already).
        query = query.with_for_update()
    outage = session.exec(query).first()
    if outage is None:
        raise NotFoundError(f"there is no outage #{outage_id} (see `outage-notify outages list`)")
    return outage


def outage_id_of(session: Session, key: str | int) -> int:
    """The id of the outage a planner names: its id (``12``) or its work-order ref
    (``WO-2291``), so the number in the work-management system works wherever an id does."""
    text = str(key).strip()
    if text.isdigit():
        return int(text)
    found = session.exec(select(Outage.id).where(Outage.ref == text)).first()
    if found is None:
        raise NotFoundError(
            f"there is no outage #{text} or with ref {text} (see `outage-notify outages list`)"
        )
    return found


def _snapshot(outage: Outage) -> dict[str, Any]:
    return {
        "revision": outage.revision,
        "status": outage.status,
        "title": outage.title,
        "description": outage.description,
        "start_at": outage.start_at,
        "end_at": outage.end_at,
        "area_codes": list(outage.area_codes),
        "cancel_reason": outage.cancel_reason,
        "restored_at": outage.restored_at,
    }


def _revise(
    session: Session,
    outage: Outage,
    *,
    change: str,
    actor: str,
    before: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    """Record the outage's current state as its revision, and audit the change."""
    assert outage.id is not None
    session.add(outage.as_revision(change=change, reason=reason, actor=actor))
    session.add(outage)
    audit.record(
        session,
        actor=actor,
        action=f"outage.{change}",
        entity="outage",
        entity_id=outage.id,
        before=before,
        after=_snapshot(outage),
    )
    session.flush()


def _require_planned(outage: Outage, doing: str) -> None:
    if outage.status != OutageStatus.PLANNED:
        problem = not_planned(outage, doing)
        raise rejected(problem, [problem])


def _bump(outage: Outage) -> dict[str, Any]:
    before = _snapshot(outage)
    outage.revision += 1
    outage.updated_at = utcnow()
    return before


def reschedule(
    session: Session,
    outage_id: int,
    *,
    start: datetime,
    end: datetime,
    settings: Settings,
    now: datetime,
    actor: str,
    short_notice: bool = False,
    long_shutoff: bool = False,
) -> Outage:
    """New times for work that has not started: pending notices are superseded, the
    lead-time notices recomputed, and a ``changed`` notice goes out now."""
    outage = get_outage(session, outage_id, for_update=True)
    problems = check_reschedule(
        outage,
        start,
        end,
        settings=settings,
        now=now,
        short_notice=short_notice,
        long_shutoff=long_shutoff,
    )
    if problems:
        raise rejected(f"outage #{outage_id} was not rescheduled:", problems)
    notified = superseding.anyone_notified(session, outage)
    before = _bump(outage)
    outage.start_at, outage.end_at = start, end
    outage.short_notice = outage.short_notice or short_notice
    _revise(session, outage, change="rescheduled", actor=actor, before=before)
    superseding.supersede_pending(session, outage)
    planned = timeline.plan_rescheduled(
        outage,
        settings=settings,
        now=now,
        anyone_notified=notified,
        sms_span=timeline.sms_span(session, outage, settings),
    )
    timeline.add_notices(session, outage, planned)
    return outage


def extend(
    session: Session,
    outage_id: int,
    *,
    end: datetime,
    settings: Settings,
    now: datetime,
    actor: str,
    long_shutoff: bool = False,
) -> Outage:
    """A later end: an ``extended`` notice to those notified (to everyone when it merges a
    change that was going to everyone); pending reminders are reissued for the new revision
    so they tell the new end."""
    outage = get_outage(session, outage_id, for_update=True)
    problems = check_extend(outage, end, settings=settings, now=now, long_shutoff=long_shutoff)
    if problems:
        raise rejected(f"outage #{outage_id} was not extended:", problems)
    before = _bump(outage)
    outage.end_at = end
    _revise(session, outage, change="extended", actor=actor, before=before)
    superseding.reissue_pending(session, outage)
    audience = superseding.merge_pending_changes(session, outage)
    timeline.add_notices(
        session,
        outage,
        timeline.plan_extended(outage, settings=settings, now=now, audience=audience),
    )
    return outage


def cancel(
    session: Session,
    outage_id: int,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    reason: str | None = None,
) -> Outage:
    """Call off work that has not started: pending notices are superseded and a
    ``cancelled`` notice goes to those already notified."""
    outage = get_outage(session, outage_id, for_update=True)
    _require_planned(outage, "cancelled")
    if outage.start_at <= now:
        problem = Problem(
            f"outage #{outage_id} started at {shown(outage.start_at, settings)}: use "
            "`outage-notify outages restore` when service is back",
            conflict=True,
        )
        raise rejected(problem, [problem])
    reason = (reason or "").strip() or None
    if reason is not None and (
        control_character_problem("the reason", reason) or len(reason) > REASON_MAX
    ):
        words = control_character_problem("the reason", reason)
        problem = Problem(words or f"the reason is longer than {REASON_MAX} characters", "reason")
        raise rejected(problem, [problem])
    before = _bump(outage)
    outage.status = OutageStatus.CANCELLED
    outage.cancel_reason = reason
    _revise(session, outage, change="cancelled", actor=actor, before=before, reason=reason)
    superseding.supersede_pending(session, outage)
    planned = timeline.plan_cancelled(
        old_start=outage.start_at, old_end=outage.end_at, settings=settings, now=now
    )
    timeline.add_notices(session, outage, planned)
    return outage


def restore(
    session: Session, outage_id: int, *, settings: Settings, now: datetime, actor: str
) -> Outage:
    """Service is back: a ``restored`` notice to those notified; anything still pending
    about the work (a reminder, an extension) is superseded."""
    outage = get_outage(session, outage_id, for_update=True)
    _require_planned(outage, "restored")
    if outage.start_at > now:
        problem = Problem(
            f"outage #{outage_id} has not started (it starts {shown(outage.start_at, settings)}): "
            "use `outage-notify outages cancel` to call it off",
            conflict=True,
        )
        raise rejected(problem, [problem])
    before = _bump(outage)
    outage.status = OutageStatus.RESTORED
    outage.restored_at = now
    _revise(session, outage, change="restored", actor=actor, before=before)
    superseding.supersede_pending(session, outage)
    timeline.add_notices(session, outage, timeline.plan_restored(settings=settings, now=now))
    return outage


def edit(
    session: Session,
    outage_id: int,
    *,
    title: str | None = None,
    description: str | None = None,
    actor: str,
) -> Outage:
    """Correct the title or description: a revision without notices (notices still to go
    tell the corrected text)."""
    outage = get_outage(session, outage_id, for_update=True)
    _require_planned(outage, "edited")
    new_title = outage.title if title is None else title.strip()
    new_description = outage.description if description is None else description.strip()
    problems = check_text(new_title, new_description)
    if problems:
        raise InputError(f"outage #{outage_id} was not edited:", problems=problems)
    if (new_title, new_description) == (outage.title, outage.description):
        return outage
    before = _bump(outage)
    outage.title, outage.description = new_title, new_description
    _revise(session, outage, change="edited", actor=actor, before=before)
    superseding.reissue_pending(session, outage)
    return outage
