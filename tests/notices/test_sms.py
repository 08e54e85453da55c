from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from channels.sms_segments import count_segments
from outage_notify.models import NoticeKind
from outage_notify.notices.sms import sms_range, sms_text
from outage_notify.notices.texts import UTILITY_NAMES, NoticeContext

ZONE = ZoneInfo("Asia/Shanghai")
KINDS = [k.value for k in NoticeKind]
URL = "https://notices.citywater.gov.cn/outages/104857"  # 47 characters
NAMES = {
    "zh-CN": ["人民路片区", "解放路北片区", "江滨新村"],
    "en": ["Renmin Road", "North Jiefang Road", "Riverside Estate"],
}
# The longest realistic times: across midnight and the new year, weekday names included.
START, END = datetime(2026, 12, 31, 22, 30, tzinfo=ZONE), datetime(2027, 1, 1, 6, 0, tzinfo=ZONE)
WAS_START, WAS_END = (
    datetime(2026, 12, 30, 22, 0, tzinfo=ZONE),
    datetime(2026, 12, 31, 5, 30, tzinfo=ZONE),
)


def context(
    kind: str, language: str, utility: str = "water", areas: int = 3, names: list[str] | None = None
) -> NoticeContext:
    area_names = names or (NAMES[language] * 5)[:areas]
    return NoticeContext(
        kind=kind,
        language=language,
        outage_id=104857,
        revision=2,
        utility=utility,
        utility_name=UTILITY_NAMES[language][utility],
        title="DN300 main replacement",
        description="",
        area_codes=[f"W{i:02d}" for i in range(1, len(area_names) + 1)],
        area_names=area_names,
        start=START,
        end=END,
        hotline="12319",
        outage_url=URL,
        previous_start=WAS_START,
        previous_end=WAS_END,
        reason="crew reassigned",
    )


@pytest.mark.parametrize("utility", ["water", "gas"])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_sms_fits_two_segments_and_names_the_facts(
    kind: str, language: str, utility: str
) -> None:
    ctx = context(kind, language, utility, areas=2)
    text = sms_text(ctx)
    assert count_segments(text).segments <= 2, (len(text), text)
    assert ctx.utility_name in text
    assert ctx.area_names[0] in text
    assert sms_range(START, END, language) in text
    assert URL in text
    assert "12319" in text


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_changed_says_now_and_was(language: str) -> None:
    text = sms_text(context("changed", language))
    now, was = (
        sms_range(START, END, language),
        sms_range(WAS_START, WAS_END, language, weekday=False),
    )
    assert text.index(now) < text.index(was)
    assert ("改为" if language == "zh-CN" else "is now") in text
    assert ("原" if language == "zh-CN" else ", was ") in text


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_many_areas_shorten_the_list_never_the_link_or_hotline(kind: str, language: str) -> None:
    text = sms_text(context(kind, language, areas=12))
    assert count_segments(text).segments <= 2
    assert URL in text
    assert "12319" in text
    assert ("等12个片区" if language == "zh-CN" else "more areas") in text


def test_shortened_list_keeps_as_many_names_as_fit() -> None:
    text = sms_text(context("advance", "en", areas=15))
    assert "Renmin Road, North Jiefang Road, Riverside Estate" in text
    assert "and " in text
    assert " more areas" in text


def test_english_sms_names_an_area_without_english_name_by_its_code() -> None:
    text = sms_text(context("advance", "en", names=["人民路片区", "Riverside Estate"]))
    assert "W01, Riverside Estate" in text
    assert count_segments(text).encoding == "GSM-7"


def test_chinese_times_drop_the_space_and_say_until() -> None:
    assert sms_range(START, END, "zh-CN") == "12月31日(周四)22:30至次日06:00"
    assert sms_range(START, START.replace(minute=59), "zh-CN") == "12月31日(周四)22:30-22:59"
    assert sms_range(WAS_START, WAS_END, "zh-CN", weekday=False) == "12月30日22:00至次日05:30"
    later = END.replace(day=3)
    assert sms_range(START, later, "zh-CN") == "2026年12月31日(周四)22:30至2027年1月3日(周日)06:00"
    assert sms_range(START, END, "en") == "Thu 31 Dec 2026 22:30 - Fri 1 Jan 2027 06:00"


@pytest.mark.parametrize(("language", "word"), [("zh-CN", "没水"), ("en", "NOWATER")])
def test_a_water_restored_sms_says_how_to_report_no_water(language: str, word: str) -> None:
    assert word in sms_text(context("restored", language, "water"))
    assert word not in sms_text(context("restored", language, "gas"))
