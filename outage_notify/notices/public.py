"""What an outage says to the public, in one language: the title with its state, the text of
a feed entry (``templates/feed/summary.*``), the banner line (``feed/line.*``), the CAP
headline and instruction (``feed/instruction.*``). Rendered with the notices' own
:class:`~outage_notify.notices.texts.NoticeContext`, so a feed tells the same facts as an SMS.
"""

from __future__ import annotations

from datetime import datetime

from channels.feeds import FeedOutage, FeedText
from outage_notify.notices.texts import (
    UTILITY_NAMES,
    NoticeContext,
    format_datetime,
    format_range,
    render,
)

EVENTS = {
    "zh-CN": {"water": "计划停水", "gas": "计划停气"},
    "en": {"water": "Planned water shutoff", "gas": "Planned gas shutoff"},
}
WORK = {
    "zh-CN": {"water": "停水", "gas": "停气"},
    "en": {"water": "water shutoff", "gas": "gas shutoff"},
}
STATE_WORDS = {
    "zh-CN": {"CHANGED": "已变更", "CANCELLED": "已取消", "RESTORED": "已恢复"},
    "en": {"CHANGED": "changed", "CANCELLED": "cancelled", "RESTORED": "restored"},
}
# A feed entry's and calendar event's title opens with what happened, in its language.
TITLE_STATES = {
    "zh-CN": {
        "PLANNED": "计划",
        "rescheduled": "已改期",
        "extended": "已延长",
        "CHANGED": "已更新",
        "CANCELLED": "已取消",
        "RESTORED": "已恢复",
    },
    "en": {
        "PLANNED": "PLANNED",
        "rescheduled": "RESCHEDULED",
        "extended": "EXTENDED",
        "CHANGED": "CHANGED",
        "CANCELLED": "CANCELLED",
        "RESTORED": "RESTORED",
    },
}
HEADLINE_MAX = 160  # CAP asks for headlines under 160 characters


def utc_offset(value: datetime) -> str:
    """``UTC+08:00``."""
    offset = value.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def notice_kind(state: str, change: str) -> str:
    """The notice kind whose wording fits a public state (the templates branch on it)."""
    kinds = {"PLANNED": "advance", "CANCELLED": "cancelled", "RESTORED": "restored"}
    return kinds.get(state, "extended" if change == "extended" else "changed")


def feed_title(outage: FeedOutage, language: str, change: str) -> str:
    """``已延长：DN300 main`` / ``EXTENDED: DN300 main``: the state, or for a planned outage
    that changed, what changed (a reschedule, an extension; an edit is "changed")."""
    words = TITLE_STATES[language]
    word = words.get(change, words["CHANGED"]) if outage.state == "CHANGED" else words[outage.state]
    if language == "zh-CN":
        label = f"{word}{WORK[language][outage.utility]}" if outage.state == "PLANNED" else word
        return f"{label}：{outage.title}"
    return f"{word}: {outage.title}"


def headline(outage: FeedOutage, language: str) -> str:
    event = EVENTS[language][outage.utility]
    word = STATE_WORDS[language].get(outage.state)
    if word:
        event = f"{event}（{word}）" if language == "zh-CN" else f"{event} ({word})"
    text = f"{event}{'：' if language == 'zh-CN' else ': '}{outage.title}"
    return text if len(text) <= HEADLINE_MAX else text[: HEADLINE_MAX - 1] + "…"


def public_text(
    outage: FeedOutage,
    *,
    language: str,
    area_names: tuple[str, ...],
    change: str,
    reason: str | None,
    previous: tuple[datetime, datetime] | None,
    hotline: str,
    utility_name: str | None = None,
) -> FeedText:
    """``outage`` (its times already local) told in ``language``."""
    zone = outage.start.tzinfo
    name = utility_name or UTILITY_NAMES[language][outage.utility]
    context = NoticeContext(
        kind=notice_kind(outage.state, change),
        language=language,
        outage_id=outage.id,
        revision=outage.revision,
        utility=outage.utility,
        utility_name=name,
        title=outage.title,
        description=outage.description,
        area_codes=[a.code for a in outage.areas],
        area_names=list(area_names),
        start=outage.start,
        end=outage.end,
        hotline=hotline,
        outage_url=outage.url,
        previous_start=previous[0].astimezone(zone) if previous else None,
        previous_end=previous[1].astimezone(zone) if previous else None,
        reason=reason,
        extra={
            "event": EVENTS[language][outage.utility],
            "work": WORK[language][outage.utility],
            "offset": utc_offset(outage.start),
            "restored": format_datetime(outage.restored_at, language) if outage.restored_at else "",
        },
    )
    line = render(f"feed/line.{language}.txt", context).split("\n")
    return FeedText(
        language=language,
        title=feed_title(outage, language, change),
        summary=render(f"feed/summary.{language}.txt", context),
        # Chinese runs sentences together; English puts a space between them.
        line=("" if language == "zh-CN" else " ").join(line),
        event=EVENTS[language][outage.utility],
        headline=headline(outage, language),
        instruction=render(f"feed/instruction.{language}.txt", context),
        sender_name=name,
        when=format_range(outage.start, outage.end, language),
        area_names=area_names,
    )
