"""The texts we send back to an inbound SMS, each at most two segments.

Templates live in ``outage_notify/templates/sms_replies/<name>.<language>.txt``. A STATUS
reply lists as many outages as fit and points to the website for the rest; any reply that
still does not fit (a very long ``public_url``, say) is cut, never sent longer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from channels.sms_segments import count_segments
from outage_notify.notices.texts import TEMPLATES, join_names
from outage_notify.settings import Settings

MAX_REPLY_SEGMENTS = 2
REPLY_NAMES = (
    "acknowledged",
    "help",
    "nowater",
    "nowater_none",
    "start",
    "status",
    "status_none",
    "status_unknown",
    "stop",
    "sub",
    "sub_confirmed",
    "sub_opted_out",
    "sub_unknown",
    "sub_usage",
)
_ELLIPSIS = "…"


@dataclass(frozen=True)
class StatusItem:
    """One outage as a STATUS reply tells it, times already local."""

    utility: str  # "water" or "gas"
    start: datetime
    end: datetime
    ongoing: bool
    areas: str  # the sender's areas the outage touches, joined for the language


def shorten(text: str, max_segments: int = MAX_REPLY_SEGMENTS) -> str:
    """``text`` if it fits ``max_segments``, else cut at the end with an ellipsis."""
    if count_segments(text).segments <= max_segments:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if count_segments(text[:middle].rstrip() + _ELLIPSIS).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + _ELLIPSIS


def sender_names(language: str, settings: Settings) -> str:
    """Who a text that is about no one outage (a reply, a sign-up code) comes from: the
    utilities' names, ``City Water and City Gas`` (one name when both are the same). An
    English text opens with it and a colon; a notice opens with its own utility's name. A
    zh-CN text opens with the 【】 signature the carriers require instead
    (``utility.reply_sms_signature``, see ``UtilitySettings.reply_signature``)."""
    names = list(dict.fromkeys(settings.utility.name(u, language) for u in ("water", "gas")))
    return join_names(names, language) if language == "zh-CN" else " and ".join(names)


def _values(language: str, settings: Settings) -> dict[str, object]:
    return {
        "language": language,
        "hotline": settings.hotline,
        "public_url": settings.public_url,
        "utility_names": sender_names(language, settings),
        "signature": settings.utility.reply_signature(),
    }


def render_reply(name: str, language: str, settings: Settings, **values: object) -> str:
    """Render ``sms_replies/<name>.<language>.txt``, shortened to two segments."""
    if name not in REPLY_NAMES:
        raise ValueError(f"unknown reply {name!r}")
    template = TEMPLATES.get_template(f"sms_replies/{name}.{language}.txt")
    text = template.render(**_values(language, settings), **values).strip()
    return shorten(text)


def status_reply(items: Sequence[StatusItem], language: str, settings: Settings) -> str:
    """The outages in the sender's areas: as many as fit two segments, then "N more"."""
    if not items:
        return render_reply("status_none", language, settings)
    template = TEMPLATES.get_template(f"sms_replies/status.{language}.txt")

    def rendered(shown: int) -> str:
        return template.render(
            **_values(language, settings), outages=items[:shown], more=len(items) - shown
        ).strip()

    return _fit(rendered, len(items))


def _fit(rendered: Callable[[int], str], total: int) -> str:
    for shown in range(total, -1, -1):
        text = rendered(shown)
        if count_segments(text).segments <= MAX_REPLY_SEGMENTS:
            return text
    return shorten(rendered(0))
