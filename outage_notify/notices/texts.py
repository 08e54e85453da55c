"""What a notice says: the facts of one outage revision, localised, and the Jinja2 templates.

Templates live in ``outage_notify/templates/<channel>/<kind>.<language>.<ext>``: ``sms/*.txt``
(plain text), ``email/*.txt``, ``email/*.html`` (autoescaped) and ``email/*.subject.txt``. All
of them render a :class:`NoticeContext`, so every channel tells the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, col, select

from outage_notify.models import (
    CHANGE_KINDS,
    NEVER_TOLD,
    Notice,
    NoticeKind,
    NoticeState,
    Outage,
    OutageRevision,
    ServiceArea,
)
from outage_notify.settings import Settings
from outage_notify.utility_settings import UtilitySettings

# The built-in names ([utility] in the config overrides them; texts take them from settings).
UTILITY_NAMES = {
    language: {u: UtilitySettings().name(u, language) for u in ("water", "gas")}
    for language in ("zh-CN", "en")
}
WEEKDAYS = {
    "zh-CN": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class NoticeContext:
    """The facts a notice tells, in one language, with times already in local time."""

    kind: str  # a NoticeKind value
    language: str  # "zh-CN" or "en"
    outage_id: int
    revision: int
    utility: str  # "water" or "gas"
    utility_name: str  # localised, e.g. "City Water"
    title: str
    description: str
    area_codes: list[str]
    area_names: list[str]  # localised where the area has a name in that language
    start: datetime  # local, aware
    end: datetime
    hotline: str
    outage_url: str
    previous_start: datetime | None = None  # for "changed" and "extended"
    previous_end: datetime | None = None
    reason: str | None = None  # why it was cancelled
    extra: dict[str, str] = field(default_factory=dict)
    signature: str = ""  # the SMS signature, 【城市供水】 (config utility.*_sms_signature)

    @property
    def sms_signature(self) -> str:
        return self.signature or f"【{self.utility_name}】"


def format_datetime(value: datetime, language: str, *, year: bool = False) -> str:
    """``12月1日(周二) 08:00`` or ``Tue 1 Dec 08:00``; ``year``: ``2026年12月1日(周二) 08:00``
    or ``Tue 1 Dec 2026 08:00``."""
    weekday = WEEKDAYS[language][value.weekday()]
    if language == "zh-CN":
        prefix = f"{value.year}年" if year else ""
        return f"{prefix}{value.month}月{value.day}日({weekday}) {value:%H:%M}"
    suffix = f" {value.year}" if year else ""
    return f"{weekday} {value.day} {MONTHS_EN[value.month - 1]}{suffix} {value:%H:%M}"


def format_range(start: datetime, end: datetime, language: str) -> str:
    """One day: ``Tue 1 Dec 08:00-12:00``; across days both ends in full, with the year when
    the work crosses into the next one (31 December to 2 January is not 2 January to 31
    December)."""
    if start.date() == end.date():
        return f"{format_datetime(start, language)}-{end:%H:%M}"
    year = start.year != end.year
    return (
        f"{format_datetime(start, language, year=year)} - "
        f"{format_datetime(end, language, year=year)}"
    )


def join_names(names: list[str], language: str) -> str:
    return "、".join(names) if language == "zh-CN" else ", ".join(names)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("outage_notify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["when"] = format_datetime
    env.globals["format_range"] = format_range
    env.globals["join_names"] = join_names
    return env


TEMPLATES = _environment()


def render(template: str, context: NoticeContext, **extra: object) -> str:
    """Render ``templates/<template>`` (e.g. ``sms/advance.en.txt``) with the context."""
    text = TEMPLATES.get_template(template).render(n=context, **extra)
    return text.strip()


def outage_url(settings: Settings, outage_id: int) -> str:
    return f"{settings.public_url}/outages/{outage_id}"


def build_context(
    session: Session,
    outage: Outage,
    *,
    kind: str,
    language: str,
    settings: Settings,
    revision: int | None = None,
    areas: dict[str, ServiceArea] | None = None,
    told: int | None = None,
) -> NoticeContext:
    """The context of ``outage`` at ``revision`` (default: current) for one language.

    ``told``: the revision the recipient was last told (0: never told them anything), which a
    change is stated against; None: what the outage's residents were last told
    (:func:`_last_told`), for previews and rows written before it was recorded.
    ``areas`` may be passed in by callers that render many notices, to read them once.
    """
    assert outage.id is not None
    zone = ZoneInfo(settings.timezone)
    revision = revision or outage.revision
    current = _revision(session, outage, revision)
    if told is None:
        previous = _last_told(session, outage, revision)
    else:
        previous = _revision(session, outage, told) if told >= 1 else None
    if kind in CHANGE_KINDS and told == NEVER_TOLD:
        # Never told of this work (a customer who moved in, a new subscriber): a change means
        # nothing to them; they get the notice of the work as it now stands.
        kind = NoticeKind.ADVANCE
    if kind == NoticeKind.EXTENDED and previous and previous.start_at != current.start_at:
        # A reschedule they never heard of, then an extension: against what they were told
        # the start moved too, so it is a change ("now ..., was ..."), not an extension.
        kind = NoticeKind.CHANGED
    # A cancellation names the work as they were told it: called off after a reschedule that
    # never reached them, it is Thursday's work that is off for those who only heard Thursday.
    told_times = previous if kind == NoticeKind.CANCELLED and previous else current
    if areas is None:
        rows = session.exec(
            select(ServiceArea).where(col(ServiceArea.code).in_(current.area_codes))
        ).all()
        areas = {a.code: a for a in rows}
    names = [_area_name(areas.get(code), code, language) for code in current.area_codes]
    return NoticeContext(
        kind=kind,
        language=language,
        outage_id=outage.id,
        revision=revision,
        utility=outage.utility,
        utility_name=settings.utility.name(outage.utility, language),
        signature=settings.utility.signature(outage.utility),
        title=current.title,
        description=current.description,
        area_codes=list(current.area_codes),
        area_names=names,
        start=told_times.start_at.astimezone(zone),
        end=told_times.end_at.astimezone(zone),
        hotline=settings.hotline,
        outage_url=outage_url(settings, outage.id),
        previous_start=previous.start_at.astimezone(zone) if previous else None,
        previous_end=previous.end_at.astimezone(zone) if previous else None,
        reason=current.reason,
    )


def _last_told(session: Session, outage: Outage, revision: int) -> OutageRevision | None:
    """The revision residents were last told about before ``revision``: the newest earlier one
    with a notice that went out (was expanded to its recipients), else the one before.

    A reschedule whose notice was merged away by an extension before it went out was never
    told; stating the change against it would tell residents "was until 12:00 on Friday" when
    they had heard "Thursday"."""
    if revision <= 1:
        return None
    told = session.exec(
        select(func.max(Notice.revision)).where(
            Notice.outage_id == outage.id,
            col(Notice.revision) < revision,
            Notice.state == NoticeState.EXPANDED,
        )
    ).one()
    return _revision(session, outage, told or revision - 1)


def _area_name(area: ServiceArea | None, code: str, language: str) -> str:
    return code if area is None else area.label(language)


def _revision(session: Session, outage: Outage, revision: int) -> OutageRevision:
    """The stored revision; the outage row itself stands in for its current revision."""
    row = session.exec(
        select(OutageRevision).where(
            OutageRevision.outage_id == outage.id, OutageRevision.revision == revision
        )
    ).first()
    if row is not None:
        return row
    if revision != outage.revision:
        raise LookupError(f"outage {outage.id} has no revision {revision}")
    return outage.as_revision(change="created", reason=outage.cancel_reason)
