"""What a voice call says: ``templates/voice/<kind>.<language>.txt`` and the keypress menu.

Written for the ear, not the eye: no link, times as words a speech engine reads naturally
("Tuesday 1 December, 8 AM", "12月1日星期二上午8点"), the hotline digit by digit, and an
English call names an area without an English name by its code (an English voice cannot
read Chinese characters). The menu (1 acknowledge, 2 repeat, 9 no more calls) follows every
message; the keypress answers are ``templates/voice/acknowledged|stopped.<language>.txt``.
"""

from __future__ import annotations

from datetime import datetime

from outage_notify.notices.texts import TEMPLATES, NoticeContext, join_names, render

WEEKDAYS_SPOKEN = {
    "zh-CN": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
REPLIES = ("acknowledged", "stopped")


def spoken_time(value: datetime, language: str) -> str:
    """``8 AM``, ``12:30 PM``; ``上午8点``, ``下午2点30分``."""
    if language == "zh-CN":
        part = "上午" if value.hour < 12 else "下午" if value.hour < 18 else "晚上"
        hour = value.hour if value.hour <= 12 else value.hour - 12
        if value.hour == 12:
            part = "中午"
        if value.hour == 0:
            part, hour = "凌晨", 0
        return f"{part}{hour}点" + (f"{value.minute}分" if value.minute else "")
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return f"{hour}:{value.minute:02d} {suffix}" if value.minute else f"{hour} {suffix}"


def spoken_day(value: datetime, language: str) -> str:
    weekday = WEEKDAYS_SPOKEN[language][value.weekday()]
    if language == "zh-CN":
        return f"{value.month}月{value.day}日{weekday}"
    return f"{weekday} {value.day} {_MONTHS[value.month - 1]}"


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def spoken_when(value: datetime, language: str) -> str:
    separator = "" if language == "zh-CN" else ", "
    return f"{spoken_day(value, language)}{separator}{spoken_time(value, language)}"


def spoken_range(start: datetime, end: datetime, language: str) -> str:
    """``Tuesday 1 December, from 8 AM to 12 PM``; ``12月1日星期二上午8点至中午12点``."""
    if language == "zh-CN":
        last = (
            spoken_time(end, language) if start.date() == end.date() else spoken_when(end, language)
        )
        return f"{spoken_when(start, language)}至{last}"
    if start.date() == end.date():
        day, first, last = (
            spoken_day(start, language),
            spoken_time(start, language),
            spoken_time(end, language),
        )
        return f"{day}, from {first} to {last}"
    return f"from {spoken_when(start, language)} to {spoken_when(end, language)}"


def spoken_digits(number: str) -> str:
    """``12319`` -> ``1 2 3 1 9``: a speech engine would say "twelve thousand ..." otherwise."""
    return " ".join(ch for ch in number if not ch.isspace())


def _areas(ctx: NoticeContext) -> str:
    if ctx.language == "zh-CN":
        return join_names(list(ctx.area_names), ctx.language)
    names = [
        name if name.isascii() else code
        for name, code in zip(ctx.area_names, ctx.area_codes, strict=True)
    ]
    return join_names(names, ctx.language)


def voice_text(ctx: NoticeContext) -> str:
    """Everything the call says for ``ctx``: the notice, then the keypress menu."""
    times = {"span": spoken_range(ctx.start, ctx.end, ctx.language), "was": "", "was_end": ""}
    if ctx.previous_start is not None and ctx.previous_end is not None:
        times["was"] = spoken_range(ctx.previous_start, ctx.previous_end, ctx.language)
        times["was_end"] = spoken_when(ctx.previous_end, ctx.language)
    notice = render(f"voice/{ctx.kind}.{ctx.language}.txt", ctx, areas=_areas(ctx), **times)
    return f"{notice} {menu(ctx)}"


def menu(ctx: NoticeContext) -> str:
    return render(f"voice/menu.{ctx.language}.txt", ctx, hotline=spoken_digits(ctx.hotline))


def voice_reply(name: str, language: str) -> str:
    """The answer to a keypress: ``acknowledged`` or ``stopped``."""
    if name not in REPLIES:
        raise ValueError(f"no voice reply {name!r}")
    return TEMPLATES.get_template(f"voice/{name}.{language}.txt").render().strip()
