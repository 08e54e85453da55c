from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from outage_notify.models import NoticeKind
from outage_notify.notices.voice import (
    spoken_digits,
    spoken_range,
    spoken_time,
    voice_reply,
    voice_text,
)
from tests.notices.test_sms import context

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("utility", ["water", "gas"])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", [k.value for k in NoticeKind])
def test_every_call_names_the_areas_the_hotline_and_the_menu(
    kind: str, language: str, utility: str
) -> None:
    text = voice_text(context(kind, language, utility, areas=2))
    assert "1 2 3 1 9" in text
    assert "http" not in text  # nothing to read out of a link
    assert ("按1" if language == "zh-CN" else "Press 1") in text
    assert ("按9" if language == "zh-CN" else "Press 9") in text
    if language == "zh-CN":
        assert "人民路片区" in text
    else:
        assert "Renmin Road" in text


def test_an_english_call_names_an_area_without_an_english_name_by_its_code() -> None:
    text = voice_text(context("advance", "en", names=["人民路片区", "Riverside"]))
    assert "W01, Riverside" in text
    assert "人民" not in text


@pytest.mark.parametrize(
    ("hour", "minute", "language", "expected"),
    [
        (8, 0, "en", "8 AM"),
        (12, 30, "en", "12:30 PM"),
        (0, 0, "en", "12 AM"),
        (8, 0, "zh-CN", "上午8点"),
        (12, 0, "zh-CN", "中午12点"),
        (14, 30, "zh-CN", "下午2点30分"),
        (20, 0, "zh-CN", "晚上8点"),
        (0, 15, "zh-CN", "凌晨0点15分"),
    ],
)
def test_spoken_time(hour: int, minute: int, language: str, expected: str) -> None:
    assert spoken_time(datetime(2026, 12, 1, hour, minute, tzinfo=ZONE), language) == expected


def test_spoken_range_on_one_day_and_across_days() -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=ZONE)
    same, next_day = start.replace(hour=12), datetime(2026, 12, 2, 6, 0, tzinfo=ZONE)
    assert spoken_range(start, same, "en") == "Tuesday 1 December, from 8 AM to 12 PM"
    assert spoken_range(start, same, "zh-CN") == "12月1日星期二上午8点至中午12点"
    assert spoken_range(start, next_day, "en") == (
        "from Tuesday 1 December, 8 AM to Wednesday 2 December, 6 AM"
    )


def test_hotline_is_read_digit_by_digit() -> None:
    assert spoken_digits("12319") == "1 2 3 1 9"
    assert spoken_digits("400 800 1234") == "4 0 0 8 0 0 1 2 3 4"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_keypress_replies_exist_in_every_language(language: str) -> None:
    assert voice_reply("acknowledged", language)
    assert voice_reply("stopped", language)
    with pytest.raises(ValueError):
        voice_reply("other", language)
