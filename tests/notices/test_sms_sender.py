"""Every SMS names its sender at the start: zh-CN notices with the 【signature】, zh-CN replies
and sign-up codes with the reply signature, English texts with the utility's English name and a
colon (never 【】, which would make them UCS-2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from channels.sms_segments import count_segments
from outage_notify.errors import SettingsError
from outage_notify.models import NoticeKind
from outage_notify.notices.sms import sms_text
from outage_notify.notices.sms_replies import REPLY_NAMES, render_reply, status_reply
from outage_notify.notices.texts import NoticeContext
from outage_notify.residents.subscription_messages import code_sms
from outage_notify.settings import Settings, load_settings
from tests.notices.test_sms_replies import VALUES, items

START = datetime(2026, 12, 10, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NAMES = {
    "OUTAGE_NOTIFY_UTILITY__WATER_NAME": "海港水务",
    "OUTAGE_NOTIFY_UTILITY__WATER_NAME_EN": "Harbour Water",
    "OUTAGE_NOTIFY_UTILITY__GAS_NAME": "海港燃气",
    "OUTAGE_NOTIFY_UTILITY__GAS_NAME_EN": "Harbour Gas",
    "OUTAGE_NOTIFY_UTILITY__WATER_SMS_SIGNATURE": "【海港水务】",
    "OUTAGE_NOTIFY_UTILITY__GAS_SMS_SIGNATURE": "【海港燃气】",
}


@pytest.fixture
def named() -> Settings:
    return load_settings(environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://o.example.org", **NAMES})


def context(settings: Settings, kind: str, language: str, utility: str) -> NoticeContext:
    return NoticeContext(
        kind=kind,
        language=language,
        outage_id=7,
        revision=2,
        utility=utility,
        utility_name=settings.utility.name(utility, language),
        signature=settings.utility.signature(utility),
        title="Main",
        description="",
        area_codes=["W01"],
        area_names=["Renmin Road" if language == "en" else "人民路片区"],
        start=START,
        end=START + timedelta(hours=4),
        hotline="12319",
        outage_url="https://o.example.org/outages/7",
        previous_start=START - timedelta(days=1),
        previous_end=START - timedelta(days=1) + timedelta(hours=4),
    )


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize(
    ("utility", "language", "opening"),
    [
        ("water", "en", "Harbour Water: "),
        ("gas", "en", "Harbour Gas: "),
        ("water", "zh-CN", "【海港水务】"),
        ("gas", "zh-CN", "【海港燃气】"),
    ],
)
def test_every_notice_opens_with_its_utility(
    named: Settings, kind: str, utility: str, language: str, opening: str
) -> None:
    text = sms_text(context(named, kind, language, utility), ask_ack=True)
    assert text.startswith(opening), text
    if language == "en":
        assert "【" not in text
        assert text.isascii(), text  # GSM-7: 160 characters a segment


@pytest.mark.parametrize("name", REPLY_NAMES)
def test_every_english_reply_opens_with_the_utilities(named: Settings, name: str) -> None:
    if name == "status":
        text = status_reply(items(2, "en"), "en", named)
    else:
        text = render_reply(name, "en", named, **VALUES["en"])  # type: ignore[arg-type]
    assert text.startswith("Harbour Water and Harbour Gas: "), text
    assert "【" not in text


def sign_up_code(settings: Settings, language: str) -> str:
    return code_sms(
        settings,
        address="+8613800138000",
        language=language,
        code="042917",
        recipient_id="subscriber:1",
        valid_until=START,
    ).text


def reply(settings: Settings, name: str, language: str) -> str:
    """Reply ``name`` with realistic values; ``code``: the sign-up code."""
    if name == "code":
        return sign_up_code(settings, language)
    if name == "status":
        return status_reply(items(2, language), language, settings)
    return render_reply(name, language, settings, **VALUES[language])  # type: ignore[arg-type]


def test_the_english_sign_up_code_opens_with_the_utilities(named: Settings) -> None:
    text = sign_up_code(named, "en")
    assert text.startswith("Harbour Water and Harbour Gas: 042917 is your code")
    assert "【" not in text


REPLY = {"OUTAGE_NOTIFY_UTILITY__REPLY_SMS_SIGNATURE": "【海港公用事业】"}


@pytest.mark.parametrize("name", [*REPLY_NAMES, "status_more", "code"])
@pytest.mark.parametrize(
    ("environ", "opening"),
    [
        ({}, "【城市供水】"),  # the defaults: the water signature
        (NAMES, "【海港水务】"),  # no reply signature: the water one
        ({**NAMES, **REPLY}, "【海港公用事业】"),
        ({"OUTAGE_NOTIFY_UTILITY__REPLY_SMS_SIGNATURE": "  "}, "【城市供水】"),  # blank: unset
    ],
)
def test_every_chinese_reply_and_code_opens_with_the_reply_signature(
    name: str, environ: dict[str, str], opening: str
) -> None:
    settings = load_settings(
        environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://o.example.org", **environ}
    )
    if name == "status_more":  # more outages than fit: "另有N项"
        text = status_reply(items(8, "zh-CN"), "zh-CN", settings)
        assert "另有" in text
    else:
        text = reply(settings, name, "zh-CN")
    assert text.startswith(opening), text
    assert text.count("【") == 1, text  # one signature, not the notices' too


@pytest.mark.parametrize("name", [*REPLY_NAMES, "code"])
def test_a_reply_signature_leaves_english_texts_alone(named: Settings, name: str) -> None:
    signed = load_settings(
        environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://o.example.org", **NAMES, **REPLY}
    )
    assert reply(signed, name, "en") == reply(named, name, "en")


@pytest.mark.parametrize(
    "value", ["海港公用事业", "【】", "【" + "海" * 21 + "】", "【海港 水务】", "[海港水务]"]
)
def test_a_reply_signature_is_validated_like_the_others(value: str) -> None:
    with pytest.raises(SettingsError, match=r"utility\.reply_sms_signature"):
        load_settings(environ={"OUTAGE_NOTIFY_UTILITY__REPLY_SMS_SIGNATURE": value})


LONGEST = {"OUTAGE_NOTIFY_UTILITY__REPLY_SMS_SIGNATURE": "【" + "海" * 20 + "】"}


@pytest.mark.parametrize("name", [n for n in REPLY_NAMES if n != "status"])
def test_every_chinese_reply_fits_two_segments_with_the_longest_signature(name: str) -> None:
    settings = load_settings(
        environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://o.example.org", **LONGEST}
    )
    text = reply(settings, name, "zh-CN")
    assert text.startswith(LONGEST["OUTAGE_NOTIFY_UTILITY__REPLY_SMS_SIGNATURE"])
    assert count_segments(text).segments <= 2, text
    assert "…" not in text  # fits without being cut
