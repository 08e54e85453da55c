"""What the public sees: outages read from the database as :class:`channels.feeds.FeedOutage`
values, in local time, with their texts in every shipped language.

Used by the web routes (feeds, banner, pages) and by ``outage-notify feeds export``. The
selection rule lives here: upcoming and in-progress outages, plus those that ended, were
restored or were cancelled in the last seven days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from sqlalchemy import Connection, or_, text
from sqlmodel import Session, col, select

from channels.banner import SHOWN_AHEAD, shown_until
from channels.cap import EXPECTED_WITHIN
from channels.feeds import FeedArea, FeedOutage, FeedRevision, Shape
from outage_notify.errors import InputError, NotFoundError
from outage_notify.models import (
    Outage,
    OutageRevision,
    OutageStatus,
    ServiceArea,
    Utility,
    area_label,
)
from outage_notify.notices.public import public_text
from outage_notify.planning import network_match
from outage_notify.settings import SHIPPED_LANGUAGES, Settings

LOOKBACK = timedelta(days=7)
# The years the documents can render: the calendar feed spans a year either side of its events
# and the windows around an outage (lookback, banner, CAP) reach days further. An outage with a
# time outside is left out rather than let it take every document down.
RENDERABLE = (datetime(2, 1, 1, tzinfo=UTC), datetime(9997, 1, 1, tzinfo=UTC))
log = logging.getLogger(__name__)
# The pseudo-area of a network outage: the hull of the junctions its valve isolation cuts off.
NETWORK_AREA = "network"
NETWORK_AREA_LABELS = {"zh-CN": "受影响管网范围", "en": "the mains cut off"}


def outage_state(status: str, revision: int) -> str:
    """PLANNED, CHANGED (a planned outage past revision 1), CANCELLED or RESTORED."""
    if status == OutageStatus.CANCELLED:
        return "CANCELLED"
    if status == OutageStatus.RESTORED:
        return "RESTORED"
    return "PLANNED" if revision == 1 else "CHANGED"


@dataclass(frozen=True)
class AreaName:
    code: str
    utility: str
    name: str
    name_en: str | None

    def label(self, language: str) -> str:
        return area_label(self.name, self.name_en, language)


@dataclass(frozen=True)
class OutageFilter:
    """``?utility=`` and ``?area=`` (each may repeat; the values of one key are OR-ed)."""

    utilities: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()

    def matches(self, outage: FeedOutage) -> bool:
        if self.utilities and outage.utility not in self.utilities:
            return False
        return not self.areas or any(a.code in self.areas for a in outage.areas)

    def apply(self, outages: Iterable[FeedOutage]) -> list[FeedOutage]:
        return [o for o in outages if self.matches(o)]


def parse_filter(
    utilities: Iterable[str], areas: Iterable[str], known_areas: Iterable[str]
) -> OutageFilter:
    """Check the values: an unknown one is an error, never a silently empty feed."""
    wanted_utilities = sorted({u.strip().lower() for u in utilities if u.strip()})
    wanted_areas = sorted({a.strip() for a in areas if a.strip()})
    problems = [
        f"unknown utility {u!r} (use {' or '.join(Utility)})"
        for u in wanted_utilities
        if u not in set(Utility)
    ]
    known = set(known_areas)
    problems += [f"unknown area {a!r}" for a in wanted_areas if a not in known]
    if problems:
        raise InputError("; ".join(problems), problems=problems)
    return OutageFilter(tuple(wanted_utilities), tuple(wanted_areas))


@dataclass(frozen=True)
class Unpublished:
    """An outage in the public window that could not be rendered, and why (for /healthz)."""

    outage_id: int
    reason: str


@dataclass(frozen=True)
class Snapshot:
    """The outages in the public window at ``now``, and every service area's name.

    ``unpublished``: outages left out because they could not be built (one bad row, such as
    an end in year 9999 stored before the planning window was enforced, must never take the
    pages and feeds of every other outage down with it).
    """

    outages: tuple[FeedOutage, ...]  # by start, then id
    areas: dict[str, AreaName]
    now: datetime
    valid_until: datetime | None  # when time alone changes what is shown (None: never)
    unpublished: tuple[Unpublished, ...] = ()

    def area_names(self) -> list[AreaName]:
        return sorted(self.areas.values(), key=lambda a: (a.utility, a.code))


# One statement, one round trip: it runs on every request that serves a cached document.
# Primary-key maxima only for the outages: a count or a sum read every outage on every request
# (1.2 ms at 5,000 outages, 27 ms at 50,000). Service areas are few; they are counted.
_FINGERPRINT = text(
    "SELECT (SELECT max(id) FROM outage), (SELECT max(id) FROM outage_revision), "
    "(SELECT count(*) FROM service_area), (SELECT max(updated_at) FROM service_area)"
)


def fingerprint(connection: Connection | Session) -> tuple[Any, ...]:
    """A cheap marker that changes whenever an outage, a revision or an area does.

    A new outage has a higher id; every change of one adds a revision, with a higher id
    (``planning.outages`` never changes an outage any other way, and never deletes one); an
    areas import bumps ``updated_at``; deleting an area changes their count.
    """
    if isinstance(connection, Session):
        connection = connection.connection()
    return tuple(connection.execute(_FINGERPRINT).one())


def read_snapshot(session: Session, settings: Settings, *, now: datetime) -> Snapshot:
    cutoff = now - LOOKBACK
    rows = session.exec(
        select(Outage)
        .where(
            or_(
                col(Outage.end_at) >= cutoff,
                col(Outage.updated_at) >= cutoff,
                col(Outage.restored_at) >= cutoff,
            ),
            # Waiting for a planner's approval (an untrusted source's): not public yet.
            col(Outage.status) != OutageStatus.REVIEW,
        )
        .order_by(col(Outage.start_at), col(Outage.id))
    ).all()
    builder = _Builder(session, settings, rows)
    outages = [o for o in builder.build_all() if o.ended_at >= cutoff and ever_public(o)]
    return Snapshot(
        outages=tuple(outages),
        areas=_area_names(session),
        now=now,
        valid_until=next_change(outages, now),
        unpublished=tuple(builder.unpublished),
    )


def unpublishable(outage_id: int, exc: Exception) -> Unpublished:
    """Log an outage that cannot be rendered and say why, in one line."""
    reason = f"{type(exc).__name__}: {exc}"
    log.error("outage %s cannot be published: %s", outage_id, reason, extra={"outage": outage_id})
    return Unpublished(outage_id, reason)


def read_outage(
    session: Session, settings: Settings, outage_id: int, *, revision: int | None = None
) -> FeedOutage:
    """One outage, at ``revision`` (default: its current one), whatever its age."""
    outage = session.get(Outage, outage_id)
    if outage is None or outage.status == OutageStatus.REVIEW:
        raise NotFoundError(f"no outage {outage_id}")
    wanted = outage.revision if revision is None else revision
    if not 1 <= wanted <= outage.revision:
        raise NotFoundError(f"outage {outage_id} has no revision {wanted}")
    built = _Builder(session, settings, [outage]).build_safely(outage, wanted)
    if built is None:
        raise NotFoundError(f"outage {outage_id} cannot be published (see the log)")
    if not ever_public(built):
        raise NotFoundError(f"no outage {outage_id}")
    return built


def ever_public(outage: FeedOutage) -> bool:
    """Whether the outage was ever live: one from an untrusted source that was cancelled
    while it waited for review was never announced, so it is never published either."""
    return any(r.status != OutageStatus.REVIEW for r in outage.history[:1]) or any(
        r.status == OutageStatus.PLANNED for r in outage.history
    )


def read_all_revisions(
    session: Session, settings: Settings, outage_ids: Iterable[int]
) -> list[FeedOutage]:
    """Every revision of the given outages (the CAP alerts an export writes)."""
    ids = sorted(set(outage_ids))
    rows = session.exec(
        select(Outage).where(col(Outage.id).in_(ids)).order_by(col(Outage.id))
    ).all()
    builder = _Builder(session, settings, rows)
    built = [builder.build_safely(o, n) for o in rows for n in range(1, o.revision + 1)]
    return [b for b in built if b is not None and ever_public(b)]


def next_change(outages: Sequence[FeedOutage], now: datetime) -> datetime | None:
    """The next moment at which time alone changes a document: an outage leaves the window,
    comes onto or goes off the banner, or its CAP urgency moves."""
    moments: list[datetime | None] = []
    for o in outages:
        moments += [_shifted(o.ended_at, LOOKBACK), _shifted(o.start, -SHOWN_AHEAD)]
        moments += [shown_until(o), _shifted(o.start, -EXPECTED_WITHIN), o.start, o.end]
    return min((m for m in moments if m is not None and m > now), default=None)


def _shifted(moment: datetime, delta: timedelta) -> datetime | None:
    # Past the end (or start) of the calendar: that moment never comes.
    try:
        return moment + delta
    except OverflowError:
        return None


def _area_names(session: Session) -> dict[str, AreaName]:
    rows = session.exec(
        select(ServiceArea.code, ServiceArea.utility, ServiceArea.name, ServiceArea.name_en)
    ).all()
    return {code: AreaName(code, utility, name, name_en) for code, utility, name, name_en in rows}


def shapes_of(geometry: dict[str, Any] | None) -> tuple[Shape, ...]:
    """GeoJSON Polygon or MultiPolygon -> polygons of (lon, lat) rings."""
    if not geometry:
        return ()
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    return tuple(
        tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon if ring)
        for polygon in polygons
        if polygon
    )


class _Builder:
    """Reads the revisions and areas of many outages at once, then builds their values."""

    def __init__(self, session: Session, settings: Settings, outages: Sequence[Outage]) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.outages = outages
        ids = [o.id for o in outages]
        self.revisions: dict[int, dict[int, OutageRevision]] = {}
        for row in session.exec(
            select(OutageRevision).where(col(OutageRevision.outage_id).in_(ids))
        ).all():
            self.revisions.setdefault(row.outage_id, {})[row.revision] = row
        codes = {c for o in outages for c in o.area_codes}
        codes |= {
            c for revs in self.revisions.values() for r in revs.values() for c in r.area_codes
        }
        self.areas = {
            a.code: a
            for a in session.exec(select(ServiceArea).where(col(ServiceArea.code).in_(codes))).all()
        }
        self.shapes = {code: shapes_of(a.geometry) for code, a in self.areas.items()}
        # A network outage is also described by the hull of what its isolation cuts off.
        self.hulls = network_match.outage_hulls(session, [i for i in ids if i is not None])
        self.languages = [settings.default_language] + [
            lang for lang in SHIPPED_LANGUAGES if lang != settings.default_language
        ]
        self.unpublished: list[Unpublished] = []

    def build_all(self) -> list[FeedOutage]:
        built = [self.build_safely(o, o.revision) for o in self.outages]
        return [o for o in built if o is not None]

    def build_safely(self, outage: Outage, number: int) -> FeedOutage | None:
        """The outage at revision ``number``, or None (logged, and kept in ``unpublished``)
        when it cannot be built."""
        assert outage.id is not None
        try:
            return self.build(outage, number)
        except Exception as exc:  # one outage must never take the others down
            self.unpublished.append(unpublishable(outage.id, exc))
            return None

    def _revision(self, outage: Outage, number: int) -> OutageRevision:
        assert outage.id is not None
        row = self.revisions.get(outage.id, {}).get(number)
        if row is not None:
            return row
        # No stored row (should not happen): the outage itself stands in for its current one.
        row = outage.as_revision(
            change="created" if number == 1 else "rescheduled", reason=outage.cancel_reason
        )
        row.revision = number
        row.created_at = outage.updated_at if number == outage.revision else outage.created_at
        return row

    def build(self, outage: Outage, number: int) -> FeedOutage:
        assert outage.id is not None
        history = [self._revision(outage, n) for n in range(1, number + 1)]
        self._check_renderable(outage, history)
        current = history[-1]
        local = self.zone
        restored_at = None
        if current.status == OutageStatus.RESTORED:
            restored_at = (outage.restored_at if number == outage.revision else None) or (
                current.created_at
            )
        result = FeedOutage(
            id=outage.id,
            revision=number,
            state=outage_state(current.status, number),
            status=current.status,
            utility=outage.utility,
            title=current.title,
            description=current.description,
            start=current.start_at.astimezone(local),
            end=current.end_at.astimezone(local),
            created=history[0].created_at.astimezone(local),
            updated=current.created_at.astimezone(local),
            url=f"{self.settings.public_url}/outages/{outage.id}",
            areas=tuple(FeedArea(c, self._shapes(outage, c)) for c in current.area_codes)
            + ((FeedArea(NETWORK_AREA, self.hulls[outage.id]),) if outage.id in self.hulls else ()),
            texts=(),
            history=tuple(
                FeedRevision(
                    revision=r.revision,
                    change=r.change,
                    status=r.status,
                    start=r.start_at.astimezone(local),
                    end=r.end_at.astimezone(local),
                    sent=r.created_at.astimezone(local),
                    reason=r.reason,
                )
                for r in history
            ),
            restored_at=restored_at.astimezone(local) if restored_at else None,
        )
        previous = history[-2] if len(history) > 1 else None
        texts = tuple(
            public_text(
                result,
                language=language,
                area_names=tuple(self._area_label(a.code, language) for a in result.areas),
                change=current.change,
                reason=current.reason,
                previous=(previous.start_at, previous.end_at) if previous else None,
                hotline=self.settings.hotline,
                utility_name=self.settings.utility.name(outage.utility, language),
            )
            for language in self.languages
        )
        return replace(result, texts=texts)

    @staticmethod
    def _check_renderable(outage: Outage, history: Sequence[OutageRevision]) -> None:
        times = [outage.restored_at] + [t for r in history for t in (r.start_at, r.end_at)]
        times += [r.created_at for r in history]
        first, last = RENDERABLE
        for moment in times:
            if moment is not None and not first <= moment < last:
                raise ValueError(f"{moment:%Y-%m-%d} is outside the years the feeds can render")

    def _shapes(self, outage: Outage, code: str) -> tuple[Shape, ...]:
        """The area's polygons; for an outage with its own geometry (an upstream feed's
        polygon), the part of the area that geometry covers, so maps and CAP show the work
        zone rather than the whole area."""
        area = self.areas.get(code)
        if not outage.geometry or area is None:
            return self.shapes.get(code, ())
        clipped = shape(area.geometry).intersection(shapely.make_valid(shape(outage.geometry)))
        return shapes_of(mapping(clipped)) if isinstance(clipped, Polygon | MultiPolygon) else ()

    def _area_label(self, code: str, language: str) -> str:
        if code == NETWORK_AREA:
            return NETWORK_AREA_LABELS.get(language, NETWORK_AREA_LABELS["en"])
        area = self.areas.get(code)
        return code if area is None else area.label(language)
