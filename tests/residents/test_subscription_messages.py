"""The sign-up's own messages: the confirmation email and the SMS code, in both languages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from channels.sms_segments import count_segments
from outage_notify.residents.subscription_messages import (
    backend,
    code_sms,
    confirmation_email,
    send_now,
)
from outage_notify.settings import SHIPPED_LANGUAGES, Settings

UNTIL = datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
HOSTILE_NAMES = '<b>Zhongshan</b> & "Renmin"'


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_the_confirmation_email_has_the_link_in_both_parts(
    settings: Settings, language: str
) -> None:
    message = confirmation_email(
        settings,
        address="r@example.net",
        language=language,
        area_names=HOSTILE_NAMES,
        token="TOKEN.abc",
        recipient_id="subscriber:4",
    )
    link = f"https://outages.example.org/subscribe/confirm/TOKEN.abc?lang={language}"
    assert link in message.text
    assert message.html is not None
    assert f'href="{link}"' in message.html
    assert HOSTILE_NAMES in message.text  # plain text as written
    assert "&lt;b&gt;Zhongshan&lt;/b&gt; &amp; &#34;Renmin&#34;" in message.html  # escaped
    assert "<b>Zhongshan" not in message.html
    assert "12319" in message.text
    assert "\n" not in message.subject
    assert (message.address, message.language, message.recipient_id) == (
        "r@example.net",
        language,
        "subscriber:4",
    )


LONGEST_SIGNATURE = "【" + "海" * 20 + "】"  # utility.*_sms_signature: 1-20 characters


@pytest.mark.parametrize("signature", ["", LONGEST_SIGNATURE])
@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_the_code_fits_one_text_and_says_yes_works(
    settings: Settings, language: str, signature: str
) -> None:
    utility = settings.utility.model_copy(update={"reply_sms_signature": signature})
    settings = settings.model_copy(update={"utility": utility})
    message = code_sms(
        settings,
        address="+8613800138000",
        language=language,
        code="042917",
        recipient_id="subscriber:1",
        valid_until=UNTIL,
    )
    assert "042917" in message.text
    assert "YES" in message.text
    assert "15" in message.text
    assert count_segments(message.text).segments == 1
    assert message.valid_until == UNTIL


def test_a_backend_that_cannot_send_returns_false_and_logs_no_address(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    off = settings.model_copy(
        update={"email": settings.email.model_copy(update={"backend": "disabled"})}
    )
    message = confirmation_email(
        off,
        address="secret@example.net",
        language="en",
        area_names="A",
        token="t",
        recipient_id="subscriber:9",
    )
    with caplog.at_level(logging.INFO):
        assert send_now(message, backend(off, "email")) is False
    assert "subscriber:9" in caplog.text
    assert "secret@example.net" not in caplog.text


def test_a_twilio_backend_without_credentials_is_a_logged_failure(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    twilio = settings.model_copy(
        update={"sms": settings.sms.model_copy(update={"backend": "twilio"})}
    )
    message = code_sms(
        settings,
        address="+8613800138000",
        language="en",
        code="123456",
        recipient_id="subscriber:2",
        valid_until=UNTIL,
    )
    with caplog.at_level(logging.INFO):
        assert send_now(message, backend(twilio, "sms")) is False
    assert "sms.account_sid" in caplog.text
    assert "+8613800138000" not in caplog.text


def test_the_file_backends_send(settings: Settings) -> None:
    message = code_sms(
        settings,
        address="+8613800138000",
        language="en",
        code="123456",
        recipient_id="subscriber:2",
        valid_until=UNTIL,
    )
    assert send_now(message, backend(settings, "sms")) is True
