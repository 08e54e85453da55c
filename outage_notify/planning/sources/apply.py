"""Mapped entries into outages, through the planning lifecycle (so notices, revisions, the
audit log and reports are those of any outage).

Idempotent by entry: each is remembered as a :class:`SourceEntry` with a digest of its mapped
fields, and an unchanged digest changes nothing. A change goes through ``plan_outage``,
``reschedule``, ``extend``, ``edit`` or ``cancel``; an entry that is no longer in the feed is
only marked vanished, never cancelled (feeds drop finished or old work all the time). Each
entry is applied in a savepoint: one that the lifecycle rejects keeps the reason and leaves
the others alone.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import Point, shape
from sqlmodel import Session, col, select

from outage_notify.errors import InputError
from outage_notify.models import Outage, OutageStatus, ServiceArea, Source, SourceEntry
from outage_notify.planning import outages, review
from outage_notify.planning.outages import REF_MAX, OutageDraft
from outage_notify.planning.sources.entries import MappedEntry
from outage_notify.settings import Settings

log = logging.getLogger(__name__)

REASON_MAX = 500


@dataclass
class Applied:
    """What one poll did, for ``sources poll`` and the logs."""

    created: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    unchanged: int = 0
    vanished: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def entry_ref(source: Source, key: str) -> str:
    """The outage's ``ref``: ``source:entry id``, the id digested when it would not fit."""
    ref = f"{source.name}:{key}"
    if len(ref) <= REF_MAX:
        return ref
    return f"{source.name}:{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def apply_entries(
    session: Session,
    source: Source,
    entries: list[MappedEntry],
    *,
    settings: Settings,
    now: datetime,
) -> Applied:
    """Apply one poll's entries (the caller holds the source's row lock and commits)."""
    result = Applied()
    rows = list(session.exec(select(SourceEntry).where(SourceEntry.source_id == source.id)))
    known = {name: row for row in rows for name in (row.entry_key, *row.aliases)}
    seen: set[int] = set()
    for entry in entries:
        if not entry.key:
            result.notes.append("an entry without an id, guid or link was skipped")
            continue
        row = next((known[k] for k in (entry.key, *entry.references) if k in known), None)
        if row is None:
            # An Update to an alert we never saw still joins whatever else references it.
            key = entry.references[0] if entry.references else entry.key
            row = SourceEntry(
                source_id=source.id or 0,
                entry_key=key,
                aliases=[],
                state="new",
                first_seen_at=now,
                last_seen_at=now,
            )
            session.add(row)
            session.flush()
        for name in (entry.key, *entry.references):
            if name != row.entry_key and name not in row.aliases:
                row.aliases = [*row.aliases, name]
            known[name] = row
        assert row.id is not None
        if row.id in seen:
            continue  # a feed that lists one entry twice: the first wins
        seen.add(row.id)
        row.last_seen_at, row.vanished_at = now, None
        digest = entry.fields_hash()
        # Held entries are looked at again each poll: the missing area may exist by now.
        if digest == row.fields_hash and row.state != "held":
            result.unchanged += 1
            continue
        try:
            with session.begin_nested():
                _apply(session, source, row, entry, settings=settings, now=now, result=result)
        except InputError as exc:
            # The savepoint is gone, and with it anything this entry wrote.
            reason = "; ".join([str(exc), *(p for p in exc.problems if p != str(exc))])
            if row.outage_id is None:
                row.state, reason = "held", f"held for review: {reason}"
                result.held.append(row.entry_key)
            row.reason = reason[:REASON_MAX]
            result.notes.append(f"{row.entry_key}: {reason}")
        row.fields_hash = digest
        session.add(row)
    for row in rows:
        if row.id not in seen and row.vanished_at is None:
            row.vanished_at = now
            session.add(row)
            result.vanished.append(row.entry_key)
            log.warning(
                "entry vanished from its source (nothing is cancelled)",
                extra={"source": source.name, "entry": row.entry_key, "outage": row.outage_id},
            )
    session.flush()
    return result


def _apply(
    session: Session,
    source: Source,
    row: SourceEntry,
    entry: MappedEntry,
    *,
    settings: Settings,
    now: datetime,
    result: Applied,
) -> None:
    actor = f"source:{source.name}"
    draft, missing = _draft(session, source, row, entry)
    outage = session.get(Outage, row.outage_id) if row.outage_id is not None else None
    if outage is None:
        if entry.cancelled:
            row.state, row.reason = "cancelled", "cancelled upstream before it became an outage"
        elif draft is None:
            row.state, row.reason = "held", "held for review: " + "; ".join(missing)
            result.held.append(row.entry_key)
        else:
            # The notice period is the source's business: its work is planned whatever we
            # do, and refusing it would only mean nobody hears of it.
            outage = outages.plan_outage(
                session,
                draft,
                settings=settings,
                now=now,
                actor=actor,
                short_notice=True,
                review=not source.trusted,
            )
            row.outage_id, row.state, row.reason = outage.id, "outage", None
            result.created.append(outage.id or 0)
        return
    assert outage.id is not None
    row.reason = None
    if outage.status == OutageStatus.REVIEW:
        if draft is None and not entry.cancelled:
            row.reason = "the new version is incomplete (" + "; ".join(missing) + ")"
        elif draft is not None or entry.cancelled:
            stand_in = draft or _current(outage)
            if review.revise_in_review(
                session, outage, stand_in, actor=actor, cancelled=entry.cancelled
            ):
                (result.cancelled if entry.cancelled else result.changed).append(outage.id)
        row.state = "cancelled" if entry.cancelled else "outage"
    elif outage.status != OutageStatus.PLANNED:
        row.reason = f"outage #{outage.id} is {outage.status}: the new version was not applied"
    elif entry.cancelled:
        outages.cancel(
            session,
            outage.id,
            settings=settings,
            now=now,
            actor=actor,
            reason=f"cancelled by its source {source.name}",
        )
        row.state = "cancelled"
        result.cancelled.append(outage.id)
    elif draft is None:
        row.reason = "the new version is incomplete (" + "; ".join(missing) + "): not applied"
    elif _update_planned(session, outage, draft, row, settings=settings, now=now, actor=actor):
        result.changed.append(outage.id)


def _current(outage: Outage) -> OutageDraft:
    return OutageDraft(
        utility=outage.utility,
        title=outage.title,
        start=outage.start_at,
        end=outage.end_at,
        areas=list(outage.area_codes),
        description=outage.description,
        geometry=outage.geometry,
    )


def _update_planned(
    session: Session,
    outage: Outage,
    draft: OutageDraft,
    row: SourceEntry,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
) -> bool:
    """A planned outage's new version: new times are a reschedule or an extension (with the
    usual notices), new text an edit; a new place is not applied (noted on the entry)."""
    assert outage.id is not None
    changed = False
    times = (draft.start, draft.end)
    if times != (outage.start_at, outage.end_at):
        started = outage.start_at <= now
        if draft.end > outage.end_at and (draft.start == outage.start_at or started):
            outages.extend(
                session, outage.id, end=draft.end, settings=settings, now=now, actor=actor
            )
        else:
            outages.reschedule(
                session,
                outage.id,
                start=draft.start,
                end=draft.end,
                settings=settings,
                now=now,
                actor=actor,
                short_notice=True,
            )
        changed = True
    if (draft.title.strip(), draft.description.strip()) != (outage.title, outage.description):
        outages.edit(
            session, outage.id, title=draft.title, description=draft.description, actor=actor
        )
        changed = True
    if (draft.area_list, draft.geometry) != (list(outage.area_codes), outage.geometry):
        row.reason = (
            "the place changed upstream and was not applied (residents of the old place "
            f"have been told): change outage #{outage.id} by hand if needed"
        )
    return changed


def _draft(
    session: Session, source: Source, row: SourceEntry, entry: MappedEntry
) -> tuple[OutageDraft | None, list[str]]:
    """The entry as an outage draft, or what it lacks (never guessed)."""
    missing = list(entry.problems)
    utility = entry.utility or source.utility
    if not entry.title:
        missing.append("no title")
    if entry.start is None:
        missing.append("no start time (ev:startdate, CAP onset or effective)")
    if entry.end is None:
        missing.append("no end time (ev:enddate, CAP expires)")
    codes: list[str] = []
    geometry: dict[str, Any] | None = None
    if utility is None:
        missing.append("no utility (no water or gas category, and the source has no --utility)")
    else:
        codes, geometry, problem = _place(session, source, entry, utility)
        missing += [problem] if problem else []
    if missing or entry.start is None or entry.end is None or utility is None:
        return None, missing
    draft = OutageDraft(
        utility=utility,
        title=entry.title[: outages.TITLE_MAX],
        start=entry.start,
        end=entry.end,
        areas=codes,
        description=entry.description[: outages.DESCRIPTION_MAX],
        ref=entry_ref(source, row.entry_key),
        geometry=geometry,
    )
    return draft, []


def _place(
    session: Session, source: Source, entry: MappedEntry, utility: str
) -> tuple[list[str], dict[str, Any] | None, str | None]:
    """Where: the area codes the entry names (targeting by those areas); else the areas its
    polygon touches, targeting by the polygon itself; else the areas holding its point;
    else the source's ``--area`` list. A problem when there is none."""
    rows = session.exec(select(ServiceArea).where(col(ServiceArea.utility) == utility))
    areas = {a.code: a for a in rows}
    named = [c for c in entry.area_codes if c in areas]
    if named:
        return named, None, None
    if entry.geometry is not None or entry.point is not None:
        place = shapely.make_valid(
            shape(entry.geometry) if entry.geometry else Point(*(entry.point or (0.0, 0.0)))
        )
        touched = [c for c, a in sorted(areas.items()) if shape(a.geometry).intersects(place)]
        if touched:
            return touched, entry.geometry, None
        what = "polygon" if entry.geometry else "point"
        return [], None, f"its {what} lies outside every {utility} service area"
    if source.area_codes:
        return list(source.area_codes), None, None
    unknown = f" (it names {', '.join(entry.area_codes)}, none a {utility} area)"
    return (
        [],
        None,
        (
            f"no place: no GeoRSS or CAP polygon, no category or geocode naming a {utility} area"
            f"{unknown if entry.area_codes else ''}, and the source has no --area"
        ),
    )
