"""Names in the order people read them: pinyin for zh-CN, case-folded for English."""

from __future__ import annotations

from outage_notify.notices.collation import in_reading_order, reading_key


def test_chinese_names_sort_by_pinyin_not_by_code_point() -> None:
    names = ["中山路", "学府供水压力区", "东风路", "北京路", "安定门"]
    assert sorted(names) != in_reading_order(names, str, "zh-CN")
    assert in_reading_order(names, str, "zh-CN") == [
        "安定门",  # an1
        "北京路",  # bei3
        "东风路",  # dong1
        "学府供水压力区",  # xue2
        "中山路",  # zhong1
    ]


def test_english_names_sort_alphabetically_ignoring_case() -> None:
    assert in_reading_order(["renmin Rd", "Zhongshan Rd", "Anting"], str, "en") == [
        "Anting",
        "renmin Rd",
        "Zhongshan Rd",
    ]


def test_the_key_is_total() -> None:
    assert reading_key("Ａ区", "zh-CN") != reading_key("A区", "zh-CN")
