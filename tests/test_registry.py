from __future__ import annotations

from pathlib import Path

import pytest

from channels.sms import DisabledSMS, FileSMS, TwilioSMS
from channels.voice import TwilioVoice
from outage_notify.errors import SettingsError
from outage_notify.registry import build_email, build_voice, status_callback_url
from outage_notify.registry import build_sms as sms_channel
from outage_notify.settings import load_settings

TWILIO = {
    "OUTAGE_NOTIFY_PUBLIC_URL": "https://outages.example.org",
    "OUTAGE_NOTIFY_SMS__BACKEND": "twilio",
    "OUTAGE_NOTIFY_SMS__ACCOUNT_SID": "AC" + "1" * 32,
    "OUTAGE_NOTIFY_SMS__AUTH_TOKEN": "token",
    "OUTAGE_NOTIFY_SMS__MESSAGING_SERVICE_SID": "MG" + "2" * 32,
}


def test_twilio_backend_from_settings() -> None:
    channel = sms_channel(load_settings(environ=TWILIO))
    assert isinstance(channel, TwilioSMS)
    assert channel.status_callback_url == "https://outages.example.org/twilio/status"
    assert channel.messaging_service_sid == "MG" + "2" * 32


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("OUTAGE_NOTIFY_SMS__ACCOUNT_SID", "sms.account_sid"),
        ("OUTAGE_NOTIFY_SMS__AUTH_TOKEN", "sms.auth_token"),
        ("OUTAGE_NOTIFY_SMS__MESSAGING_SERVICE_SID", "sms.messaging_service_sid or"),
    ],
)
def test_twilio_backend_without_credentials_names_the_key(missing: str, named: str) -> None:
    environ = {k: v for k, v in TWILIO.items() if k != missing}
    with pytest.raises(SettingsError) as caught:
        sms_channel(load_settings(environ=environ))
    assert named in str(caught.value)


def test_twilio_voice_without_credentials_names_every_key_as_sms_does() -> None:
    environ = {"OUTAGE_NOTIFY_VOICE__BACKEND": "twilio", "OUTAGE_NOTIFY_SMS__AUTH_TOKEN": "token"}
    with pytest.raises(SettingsError) as caught:
        build_voice(load_settings(environ=environ))
    assert str(caught.value) == (
        'config key sms.account_sid, voice.from_number: required when voice.backend = "twilio" '
        '(or set voice.backend to "file" or "disabled")'
    )
    environ = {"OUTAGE_NOTIFY_VOICE__FROM_NUMBER": "+15005550006", **TWILIO, **environ}
    assert isinstance(build_voice(load_settings(environ=environ)), TwilioVoice)


def test_file_and_disabled_backends(tmp_path: Path) -> None:
    path = str(tmp_path / "sms.jsonl")
    file_channel = sms_channel(
        load_settings(
            environ={"OUTAGE_NOTIFY_SMS__BACKEND": "file", "OUTAGE_NOTIFY_SMS__FILE_PATH": path}
        )
    )
    assert isinstance(file_channel, FileSMS)
    assert file_channel.path == Path(path)
    disabled = sms_channel(load_settings(environ={"OUTAGE_NOTIFY_SMS__BACKEND": "disabled"}))
    assert isinstance(disabled, DisabledSMS)


def teststatus_callback_url_follows_public_url() -> None:
    settings = load_settings(environ={"OUTAGE_NOTIFY_PUBLIC_URL": "https://x.example/outages/"})
    assert status_callback_url(settings) == "https://x.example/outages/twilio/status"


@pytest.mark.parametrize("backend", ["file", "smtp"])
def test_an_email_backend_without_the_secret_key_is_refused_once(
    backend: str, tmp_path: Path
) -> None:
    environ = {
        "OUTAGE_NOTIFY_EMAIL__BACKEND": backend,
        "OUTAGE_NOTIFY_EMAIL__FILE_DIR": str(tmp_path),
        "OUTAGE_NOTIFY_EMAIL__FROM_ADDRESS": "notices@example.org",
    }
    with pytest.raises(SettingsError, match=r"web\.secret_key is empty"):
        build_email(load_settings(environ=environ))
    keyed = {**environ, "OUTAGE_NOTIFY_WEB__SECRET_KEY": "k"}
    build_email(load_settings(environ=keyed)).close()


def test_disabled_email_needs_no_secret_key() -> None:
    build_email(load_settings(environ={"OUTAGE_NOTIFY_EMAIL__BACKEND": "disabled"})).close()
