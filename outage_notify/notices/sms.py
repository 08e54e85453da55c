"""The SMS text of a notice: ``templates/sms/<kind>.<language>.txt``, kept within two segments.

Every SMS names the utility, the area(s), the local start and end, the link to the outage
page and the hotline. When many areas would make it longer than two segments, the area list
is shortened ("W01, W02 and 3 more areas"); the link and the hotline are never cut.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from channels.sms_segments import SegmentCount, count_segments, is_gsm7
from outage_notify.notices.texts import (
    NoticeContext,
    format_datetime,
    format_range,
    join_names,
    render,
)

MAX_SEGMENTS = 2


def template_name(kind: str, language: str) -> str:
    return f"sms/{kind}.{language}.txt"


def _shortened(names: list[str], shown: int, language: str) -> str:
    if shown >= len(names):
        return join_names(names, language)
    if shown == 0:
        return f"{len(names)}个片区" if language == "zh-CN" else f"{len(names)} areas"
    listed = join_names(names[:shown], language)
    if language == "zh-CN":
        return f"{listed}等{len(names)}个片区"
    more = len(names) - shown
    return f"{listed} and {more} more area{'s' if more > 1 else ''}"


def sms_when(value: datetime, language: str, *, weekday: bool = True) -> str:
    """``12月1日(周二)08:00``: the email's format without the space, which a Chinese SMS
    (70 characters a segment) cannot spare; ``weekday=False`` for the "was" part."""
    if language != "zh-CN":
        return format_datetime(value, language)
    text = format_datetime(value, language).replace(") ", ")")
    return text if weekday else f"{value.month}月{value.day}日{value:%H:%M}"


def sms_range(start: datetime, end: datetime, language: str, *, weekday: bool = True) -> str:
    """The email's range, compacted for a Chinese SMS: an end the next day is 次日 HH:MM."""
    if language != "zh-CN":
        return format_range(start, end, language)
    first = sms_when(start, language, weekday=weekday)
    if start.date() == end.date():
        return f"{first}-{end:%H:%M}"
    if end.date() == start.date() + timedelta(days=1):
        return f"{first}至次日{end:%H:%M}"
    if start.year != end.year:
        # Into the next year (beyond the next day): each end says its year.
        return f"{start.year}年{first}至{end.year}年{sms_when(end, language, weekday=weekday)}"
    return f"{first}至{sms_when(end, language, weekday=weekday)}"


def _times(ctx: NoticeContext) -> dict[str, str]:
    """The times a template names: ``span`` (now), ``was`` and ``was_end`` (before)."""
    times = {"span": sms_range(ctx.start, ctx.end, ctx.language), "was": "", "was_end": ""}
    if ctx.previous_start is not None and ctx.previous_end is not None:
        times["was"] = sms_range(ctx.previous_start, ctx.previous_end, ctx.language, weekday=False)
        times["was_end"] = sms_when(ctx.previous_end, ctx.language, weekday=False)
    return times


def _names(ctx: NoticeContext) -> list[str]:
    if ctx.language == "zh-CN":
        return list(ctx.area_names)
    # A single Chinese character turns an English SMS into UCS-2 (70 characters a segment
    # instead of 160): English texts name an area without an English name by its code.
    return [
        name if is_gsm7(name) else code
        for name, code in zip(ctx.area_names, ctx.area_codes, strict=True)
    ]


ACK_REQUESTS = {"zh-CN": "收到请回复1。", "en": " Reply 1 to confirm you got this."}


def sms_text(ctx: NoticeContext, *, ask_ack: bool = False) -> str:
    """The SMS for ``ctx`` (the delivery engine calls this), as short as the areas allow.

    ``ask_ack``: a critical-needs customer is asked to reply 1 (their escalation ladder
    stops there), within the same two segments.
    """
    suffix = ACK_REQUESTS[ctx.language] if ask_ack else ""
    names = _names(ctx)
    template = template_name(ctx.kind, ctx.language)
    times = _times(ctx)
    text = ""
    for shown in range(len(names), -1, -1):
        text = render(template, ctx, areas=_shortened(names, shown, ctx.language), **times)
        text += suffix
        if count_segments(text).segments <= MAX_SEGMENTS:
            return text
    return text  # still too long (a very long public_url): previews warn about it


def sms_segments(ctx: NoticeContext) -> SegmentCount:
    return count_segments(sms_text(ctx))


def with_kind(ctx: NoticeContext, kind: str) -> NoticeContext:
    return replace(ctx, kind=kind)
