"""Which language a page is shown in: ``?lang=``, else Accept-Language, else the default."""

from __future__ import annotations

from fastapi import Request

from outage_notify.errors import InputError
from outage_notify.settings import SHIPPED_LANGUAGES, Settings


def shipped_language(value: str) -> str | None:
    """``zh``, ``zh-cn``, ``zh-Hans-CN`` -> ``zh-CN``; ``en-GB`` -> ``en``; else None."""
    tag = value.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The shipped language the client prefers most (RFC 9110 quality values)."""
    if not header:
        return None
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = shipped_language(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def requested_language(value: str | None, settings: Settings) -> str:
    """A feed's ``?lang=``: a shipped language, or the default when absent."""
    if value is None or not value.strip():
        return settings.default_language
    language = shipped_language(value)
    if language is None:
        raise InputError(
            f"unknown language {value!r} (use {' or '.join(SHIPPED_LANGUAGES)})",
            problems=[f"unknown language {value!r}"],
        )
    return language


def page_language(request: Request, settings: Settings) -> str:
    explicit = request.query_params.get("lang")
    if explicit:
        language = shipped_language(explicit)
        if language:
            return language
    accepted = from_accept_language(request.headers.get("accept-language"))
    return accepted or settings.default_language
