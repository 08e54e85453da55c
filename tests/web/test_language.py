from __future__ import annotations

import pytest

from outage_notify.errors import InputError
from outage_notify.settings import Settings
from outage_notify.web.language import from_accept_language, requested_language, shipped_language


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh_Hans_CN", "zh-CN"),
        ("EN", "en"),
        ("en-GB", "en"),
        ("english", None),
        ("fr", None),
        ("", None),
    ],
)
def test_shipped_language(tag: str, language: str | None) -> None:
    assert shipped_language(tag) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, None),
        ("", None),
        ("en", "en"),
        ("fr, de", None),
        ("en;q=0.5, zh;q=0.6", "zh-CN"),
        ("zh;q=0, en;q=0.1", "en"),
        ("en;q=abc, zh;q=0.1", "zh-CN"),  # an unreadable quality counts as 0
        ("zh-CN, en", "zh-CN"),  # equal quality: the first listed
        ("*", None),
    ],
)
def test_from_accept_language(header: str | None, language: str | None) -> None:
    assert from_accept_language(header) == language


def test_a_feed_language_defaults_and_refuses_unknown_ones(settings: Settings) -> None:
    assert requested_language(None, settings) == "zh-CN"
    assert requested_language(" ", settings) == "zh-CN"
    assert requested_language("en-US", settings) == "en"
    with pytest.raises(InputError, match="unknown language 'tlh'"):
        requested_language("tlh", settings)
