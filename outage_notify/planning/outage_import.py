"""Importing outages from a work-management system's CSV: ``ref,utility,title,description,
start,end,areas`` (``areas`` separated by ``;``).

Idempotent by ``ref``: a row for a new ref plans an outage, a row equal to its outage changes
nothing, and a changed row becomes the lifecycle step that fits (extend when only the end
moved later, reschedule otherwise; a corrected title or description is an edit). Every row is
checked before anything is written; one bad row rejects the file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from outage_notify.errors import InputError, rejected
from outage_notify.models import Outage, OutageStatus
from outage_notify.plain_text import control_character_problem
from outage_notify.planning import outage_checks, outages
from outage_notify.planning.outage_refs import by_ref, differing
from outage_notify.planning.outages import OutageDraft
from outage_notify.settings import Settings
from outage_notify.times import parse_time

COLUMNS = ("ref", "utility", "title", "description", "start", "end", "areas")
REQUIRED = ("ref", "utility", "title", "start", "end", "areas")


@dataclass(frozen=True)
class OutageRow:
    line: int
    draft: OutageDraft


@dataclass
class RowAction:
    line: int
    ref: str
    action: str  # create | reschedule | extend | edit | unchanged
    outage_id: int | None = None
    edits: bool = False  # the title or description changes too

    def describe(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "ref": self.ref,
            "action": self.action,
            "outage_id": self.outage_id,
        }


def read_rows(path: Path, settings: Settings) -> list[OutageRow]:
    """Parse the file; InputError lists every unreadable row."""
    rows, problems = _read(path, settings)
    if problems:
        raise InputError(f"{path}: nothing was imported:", problems=problems)
    return rows


def _read(path: Path, settings: Settings) -> tuple[list[OutageRow], list[str]]:
    """The readable rows and the problems of the others; a repeated ref is caught even when
    its first copy could not be read."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None
    rows: list[OutageRow] = []
    problems: list[str] = []
    with handle:
        try:
            reader = csv.reader(handle, strict=True)
            header = [c.strip().lower() for c in next(reader, [])]
            _check_header(header, path)
            ended = reader.line_num
            seen: dict[str, int] = {}
            for record in reader:
                line, ended = ended + 1, reader.line_num
                if not any(field.strip() for field in record):
                    continue
                ref = record[header.index("ref")].strip() if len(record) == len(header) else ""
                if ref and ref in seen:
                    problems.append(f"line {line}: ref {ref} repeats line {seen[ref]}")
                    continue
                if ref:
                    seen[ref] = line
                try:
                    rows.append(OutageRow(line, _draft(record, header, settings)))
                except ValueError as exc:
                    problems.append(f"line {line}: {exc}")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8: save it as UTF-8 CSV") from None
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    return rows, problems


def _check_header(header: list[str], path: Path) -> None:
    if not header:
        raise InputError(f"{path} is empty: the first row must be the header ({','.join(COLUMNS)})")
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise InputError(f"{path}: {'; '.join(parts)}; the columns are {','.join(COLUMNS)}")


def _draft(record: list[str], header: list[str], settings: Settings) -> OutageDraft:
    if len(record) != len(header):
        raise ValueError(f"has {len(record)} fields where the header has {len(header)}")
    values = {c: v.strip() for c, v in zip(header, record, strict=True)}
    controls = [p for c, v in values.items() if (p := control_character_problem(c, v))]
    if controls:
        raise ValueError("; ".join(controls))
    if not values["ref"]:
        raise ValueError("ref is empty (the work order number keeps imports idempotent)")
    zone = settings.zone
    start = parse_time(values["start"], zone, name="start")
    end = parse_time(values["end"], zone, name="end")
    return OutageDraft(
        utility=values["utility"].lower(),
        title=values["title"],
        description=values.get("description", ""),
        start=start,
        end=end,
        areas=values["areas"].replace(",", ";").split(";"),
        ref=values["ref"],
    )


def plan_import(
    session: Session,
    rows: list[OutageRow],
    *,
    settings: Settings,
    now: datetime,
    short_notice: bool = False,
    long_shutoff: bool = False,
) -> list[RowAction]:
    """Decide each row's action and check it; InputError lists every problem."""
    problems: list[str] = []
    actions: list[RowAction] = []
    seen: dict[str, int] = {}
    for row in rows:
        draft = row.draft
        ref = draft.ref or ""
        if ref in seen:
            problems.append(f"line {row.line}: ref {ref} repeats line {seen[ref]}")
            continue
        seen[ref] = row.line
        existing = by_ref(session, ref)
        if existing is None:
            found = outage_checks.check_draft(
                session,
                draft,
                settings=settings,
                now=now,
                short_notice=short_notice,
                long_shutoff=long_shutoff,
            )
            actions.append(RowAction(row.line, ref, "create"))
        else:
            action, found = _change(
                row.line,
                existing,
                draft,
                settings=settings,
                now=now,
                short_notice=short_notice,
                long_shutoff=long_shutoff,
            )
            actions.append(action)
        problems += [f"line {row.line} (ref {ref}): {p}" for p in found]
    if problems:
        raise InputError("nothing was imported:", problems=problems)
    return actions


def _change(
    line: int,
    outage: Outage,
    draft: OutageDraft,
    *,
    settings: Settings,
    now: datetime,
    short_notice: bool,
    long_shutoff: bool = False,
) -> tuple[RowAction, list[str]]:
    action = RowAction(line, outage.ref or "", "unchanged", outage.id)
    differ = set(differing(outage, draft))
    action.edits = bool(differ & {"title", "description"})
    if differ & {"utility", "areas"}:
        return action, [
            f"utility or areas differ from outage #{outage.id} ({outage.utility} "
            f"{';'.join(outage.area_codes)}): an outage keeps them; cancel it and plan a new "
            "one under another ref"
        ]
    moved = bool(differ & {"start", "end"})
    if not moved and not action.edits:
        return action, []
    if outage.status != OutageStatus.PLANNED:
        return action, [f"outage #{outage.id} is {outage.status}: it cannot change"]
    problems = outage_checks.check_text(draft.title, draft.description) if action.edits else []
    if not moved:
        action.action = "edit"
        return action, problems
    if draft.start == outage.start_at and draft.end > outage.end_at:
        action.action = "extend"
        return action, problems + outage_checks.check_extend(
            outage, draft.end, settings=settings, now=now, long_shutoff=long_shutoff
        )
    action.action = "reschedule"
    return action, problems + outage_checks.check_reschedule(
        outage,
        draft.start,
        draft.end,
        settings=settings,
        now=now,
        short_notice=short_notice,
        long_shutoff=long_shutoff,
    )


def apply_import(
    session: Session,
    rows: list[OutageRow],
    actions: list[RowAction],
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    short_notice: bool = False,
    long_shutoff: bool = False,
) -> None:
    """Carry out the checked actions, in file order, in the caller's transaction."""
    for row, action in zip(rows, actions, strict=True):
        draft = row.draft
        if action.action == "create":
            outage = outages.plan_outage(
                session,
                draft,
                settings=settings,
                now=now,
                actor=actor,
                short_notice=short_notice,
                long_shutoff=long_shutoff,
            )
            action.outage_id = outage.id
            continue
        assert action.outage_id is not None
        if action.edits:
            outages.edit(
                session,
                action.outage_id,
                title=draft.title,
                description=draft.description,
                actor=actor,
            )
        if action.action == "extend":
            outages.extend(
                session,
                action.outage_id,
                end=draft.end,
                settings=settings,
                now=now,
                actor=actor,
                long_shutoff=long_shutoff,
            )
        elif action.action == "reschedule":
            outages.reschedule(
                session,
                action.outage_id,
                start=draft.start,
                end=draft.end,
                settings=settings,
                now=now,
                actor=actor,
                short_notice=short_notice,
                long_shutoff=long_shutoff,
            )


def import_outages(
    session: Session,
    path: Path,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    short_notice: bool = False,
    long_shutoff: bool = False,
) -> list[RowAction]:
    """Read, check and apply an outages CSV in the caller's transaction (roll it back for a
    dry run)."""
    rows, unreadable = _read(path, settings)
    try:
        actions = plan_import(
            session,
            rows,
            settings=settings,
            now=now,
            short_notice=short_notice,
            long_shutoff=long_shutoff,
        )
    except InputError as error:
        # Every problem of every row at once: the unreadable rows' and the others'.
        problems = sorted(unreadable + error.problems, key=_line_of)
        raise rejected("nothing was imported:", problems) from None
    if unreadable:
        raise InputError(f"{path}: nothing was imported:", problems=unreadable)
    apply_import(
        session,
        rows,
        actions,
        settings=settings,
        now=now,
        actor=actor,
        short_notice=short_notice,
        long_shutoff=long_shutoff,
    )
    return actions


def _line_of(problem: str) -> int:
    found = re.match(r"line (\d+)", problem)
    return int(found[1]) if found else 0
