from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from channels.sms_segments import count_segments
from outage_notify.notices.sms_replies import (
    REPLY_NAMES,
    StatusItem,
    render_reply,
    shorten,
    status_reply,
)
from outage_notify.settings import SHIPPED_LANGUAGES, Settings, load_settings

TEMPLATES = Path(__file__).resolve().parents[2] / "outage_notify" / "templates" / "sms_replies"
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 8, 0, tzinfo=ZONE)
# Long but realistic values: a real area name, the longest area codes we accept in a reply.
VALUES = {
    "zh-CN": {
        "area_name": "西湖区翠苑街道第一社区",
        "area_names": "西湖区翠苑街道第一社区、西湖区翠苑街道第二社区",
        "area_code": "XH-CUIYUAN-0012",
        "example": "XH-CUIYUAN-0001",
        "title": "翠苑街道第一社区供水主管更换及阀门检修",  # NOWATER cuts longer ones
        "hours": 168,
    },
    "en": {
        "area_name": "Cuiyuan Subdistrict, Community 1",
        "area_names": "Cuiyuan Subdistrict, Community 1, Cuiyuan Subdistrict, Community 2",
        "area_code": "XH-CUIYUAN-0012",
        "example": "XH-CUIYUAN-0001",
        "title": "Cuiyuan water main and valve replacement",  # NOWATER cuts longer ones
        "hours": 168,
    },
}


@pytest.fixture
def settings() -> Settings:
    """The defaults (no database needed) with the tests' public URL."""
    return load_settings(environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://outages.example.org"})


def items(count: int, language: str) -> list[StatusItem]:
    area = VALUES[language]["area_name"]
    return [
        StatusItem(
            utility="water" if n % 2 == 0 else "gas",
            start=START + timedelta(days=n),
            end=START + timedelta(days=n, hours=6),
            ongoing=n == 0,
            areas=area,
        )
        for n in range(count)
    ]


def test_every_reply_exists_in_every_language() -> None:
    names = {path.name for path in TEMPLATES.iterdir()}
    expected = {f"{name}.{language}.txt" for name in REPLY_NAMES for language in SHIPPED_LANGUAGES}
    assert names == expected


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("name", [n for n in REPLY_NAMES if n != "status"])
def test_every_reply_fits_two_segments_with_realistic_data(
    settings: Settings, name: str, language: str
) -> None:
    text = render_reply(name, language, settings, **VALUES[language])
    assert count_segments(text).segments <= 2, text
    assert "…" not in text  # fits without being cut
    assert "{" not in text


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("count", range(1, 9))
def test_status_fits_two_segments_whatever_the_number_of_outages(
    settings: Settings, language: str, count: int
) -> None:
    text = status_reply(items(count, language), language, settings)
    assert count_segments(text).segments <= 2, text
    assert settings.hotline in text


def test_status_shows_what_fits_and_points_to_the_website_for_the_rest(
    settings: Settings,
) -> None:
    text = status_reply(items(6, "en"), "en", settings)
    shown = text.count(" off ")
    assert 1 <= shown < 6
    assert f"+{6 - shown} more: https://outages.example.org" in text


def test_status_with_nothing_planned(settings: Settings) -> None:
    assert status_reply([], "zh-CN", settings) == (
        "【城市供水】您所在区域目前没有计划停水停气。客服热线12319。"
    )


def test_a_very_long_public_url_is_cut_not_sent_longer() -> None:
    long_url = "https://outages.example.org/" + "x" * 300
    long = load_settings(environ={"OUTAGE_NOTIFY_PUBLIC_URL": long_url})
    for language in SHIPPED_LANGUAGES:
        for text in (
            render_reply("sub_usage", language, long, example="W01"),
            status_reply(items(8, language), language, long),
        ):
            assert count_segments(text).segments <= 2
            assert text.endswith("…")


@pytest.mark.parametrize(
    ("text", "segments"),
    [("a" * 400, 2), ("停" * 200, 2), ("a" * 400, 1), ("short", 1), ("💧" * 100, 2)],
)
def test_shorten_cuts_to_the_segment_limit(text: str, segments: int) -> None:
    cut = shorten(text, segments)
    assert count_segments(cut).segments <= segments
    if count_segments(text).segments <= segments:
        assert cut == text
    else:
        assert cut.endswith("…")
        assert count_segments(cut[:-1] + text[len(cut) - 1] + "…").segments > segments


def test_an_unknown_reply_name_is_a_programming_error(settings: Settings) -> None:
    with pytest.raises(ValueError):
        render_reply("nope", "en", settings)
