from __future__ import annotations

import string

from outage_notify.notices.page_words import MESSAGES, translate


def test_every_language_has_every_key() -> None:
    keys = {language: set(words) for language, words in MESSAGES.items()}
    assert keys["en"] == keys["zh-CN"]


def test_placeholders_agree_across_languages() -> None:
    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, text in MESSAGES["en"].items():
        assert fields(text) == fields(MESSAGES["zh-CN"][key]), key


def test_translate_falls_back_to_english_then_the_key() -> None:
    assert translate("zh-CN", "hotline") == "咨询热线"
    assert translate("fr", "hotline") == "Hotline"
    assert translate("en", "no-such-key") == "no-such-key"
    assert translate("en", "times_local", offset="UTC+08:00") == "Times are local (UTC+08:00)."
