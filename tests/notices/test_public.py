from __future__ import annotations

from datetime import timedelta

import pytest

from outage_notify.notices.public import headline, notice_kind, public_text, utc_offset
from tests.channels.feed_values import NOW, outage


def told(language: str = "en", reason: str | None = None, **kw):  # type: ignore[no-untyped-def]
    value = outage(**kw)
    return public_text(
        value,
        language=language,
        area_names=("Zhongshan Rd", "Renmin Rd") if language == "en" else ("中山路", "人民路"),
        change="created",
        reason=reason,
        previous=None,
        hotline="12319",
    )


@pytest.mark.parametrize(
    ("state", "change", "kind"),
    [
        ("PLANNED", "created", "advance"),
        ("CHANGED", "rescheduled", "changed"),
        ("CHANGED", "extended", "extended"),
        ("CANCELLED", "cancelled", "cancelled"),
        ("RESTORED", "restored", "restored"),
    ],
)
def test_notice_kind(state: str, change: str, kind: str) -> None:
    assert notice_kind(state, change) == kind


def test_utc_offset() -> None:
    assert utc_offset(NOW) == "UTC+08:00"


def test_a_long_headline_is_cut_under_160_characters() -> None:
    text = headline(outage(title="x" * 300), "en")
    assert len(text) == 160
    assert text.endswith("…")
    assert headline(outage(revision=2), "zh-CN") == "计划停水（已变更）：Main replacement"


@pytest.mark.parametrize(
    ("utility", "status", "needle"),
    [
        ("water", "planned", "Store enough drinking water before Thu 3 Dec 08:00"),
        ("gas", "planned", "Turn off gas appliances before Thu 3 Dec 08:00"),
        ("water", "cancelled", "No action needed"),
        ("gas", "restored", "Relight pilot lights"),
    ],
)
def test_the_instruction_fits_the_utility_and_state(utility: str, status: str, needle: str) -> None:
    restored = NOW if status == "restored" else None
    text = told(utility=utility, status=status, revision=2, restored_at=restored)
    assert needle in text.instruction
    assert "12319" in text.instruction or status == "cancelled"


def test_the_texts_name_times_areas_and_hotline_in_both_languages() -> None:
    en, zh = told("en"), told("zh-CN")
    assert en.title == "PLANNED: Main replacement"
    assert en.summary == (
        "Planned water shutoff: Thu 3 Dec 08:00-12:00 (UTC+08:00).\n"
        "Areas: Zhongshan Rd, Renmin Rd.\n"
        "Hotline: 12319"
    )
    assert (
        en.line
        == "Planned water shutoff: Thu 3 Dec 08:00-12:00, Zhongshan Rd, Renmin Rd. Hotline 12319."
    )
    assert zh.line == "计划停水：12月3日(周四) 08:00-12:00，中山路、人民路。热线 12319。"
    assert zh.sender_name == "城市供水"


def test_a_cancellation_gives_its_reason() -> None:
    text = told(
        status="cancelled", revision=2, reason="Crew unavailable", start=NOW + timedelta(days=1)
    )
    assert text.summary.splitlines()[:2] == [
        "Cancelled: the water shutoff planned for Wed 2 Dec 08:00-12:00 (UTC+08:00) "
        "will not take place.",
        "Reason: Crew unavailable",
    ]
