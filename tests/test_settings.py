from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from outage_notify.errors import SettingsError
from outage_notify.settings import all_keys, load_settings
from outage_notify.settings_values import parse_duration

REPO = Path(__file__).resolve().parents[1]


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source is None
    assert settings.timezone == "Asia/Shanghai"
    assert settings.hotline == "12319"
    assert settings.schedule.water == [timedelta(hours=72), timedelta(hours=24), timedelta(hours=2)]
    assert settings.schedule.quiet_hours == (time(21, 0), time(8, 0))
    assert settings.sms.backend == "twilio"
    assert settings.sms.auth_token.get_secret_value() == ""


def test_documented_default_file_matches_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from_file = load_settings(REPO / "config" / "outage-notify.toml", environ={})
    built_in = load_settings(None, environ={})
    assert from_file.model_dump() == built_in.model_dump()


def test_precedence_flag_over_env_file_over_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outage-notify.toml").write_text('hotline = "local"\n')
    env_file = tmp_path / "env.toml"
    env_file.write_text('hotline = "from-env-config"\n')
    flag_file = tmp_path / "flag.toml"
    flag_file.write_text('hotline = "from-flag"\n')

    assert load_settings(environ={}).hotline == "local"
    assert (
        load_settings(environ={"OUTAGE_NOTIFY_CONFIG": str(env_file)}).hotline == "from-env-config"
    )
    assert (
        load_settings(flag_file, environ={"OUTAGE_NOTIFY_CONFIG": str(env_file)}).hotline
        == "from-flag"
    )


def test_environment_beats_file_beats_default(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('hotline = "file"\ntimezone = "Europe/Berlin"\n[sms]\nconcurrency = 3\n')
    settings = load_settings(
        path, environ={"OUTAGE_NOTIFY_HOTLINE": "env", "OUTAGE_NOTIFY_SMS__CONCURRENCY": "7"}
    )
    assert settings.hotline == "env"  # env over file
    assert settings.timezone == "Europe/Berlin"  # file over default
    assert settings.sms.concurrency == 7
    assert settings.sms.max_per_second == 1.0  # default kept beside an overridden sibling


def test_double_underscore_nesting_and_lists_from_env() -> None:
    settings = load_settings(
        environ={
            "OUTAGE_NOTIFY_SCHEDULE__WATER": "48h, 3h",
            "OUTAGE_NOTIFY_SCHEDULE__GAS": '["12h", "1h30m"]',
            "OUTAGE_NOTIFY_SCHEDULE__QUIET_HOURS": "",
            "OUTAGE_NOTIFY_EMAIL__STARTTLS": "false",
        }
    )
    assert settings.schedule.water == [timedelta(hours=48), timedelta(hours=3)]
    assert settings.schedule.gas == [timedelta(hours=12), timedelta(minutes=90)]
    assert settings.schedule.quiet_hours is None
    assert settings.email.starttls is False


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t\n")
    settings = load_settings(environ={"OUTAGE_NOTIFY_SMS__AUTH_TOKEN_FILE": str(secret)})
    assert settings.sms.auth_token.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


def test_secret_file_missing_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OUTAGE_NOTIFY_WEB__SECRET_KEY_FILE"):
        load_settings(environ={"OUTAGE_NOTIFY_WEB__SECRET_KEY_FILE": str(tmp_path / "nope")})


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('timezone = "Mars/Olympus"', "timezone"),
        ('database_url = "mysql://x"', "database_url"),
        ('database_url = "not a url"', "database_url"),
        ('public_url = "ftp://x"', "public_url"),
        ('default_language = "fr"', "default_language"),
        ('default_region = "XX"', "default_region"),
        ('hotline = ""', "hotline"),
        ("[schedule]\nwater = []", "schedule.water"),
        ('[schedule]\nwater = ["72 hours"]', "schedule.water"),
        ('[schedule]\ngas = ["-2h"]', "schedule.gas"),
        ('[schedule]\ncritical_lead = "soon"', "schedule.critical_lead"),
        ('[schedule]\nquiet_hours = "9pm-8am"', "schedule.quiet_hours"),
        ('[schedule]\nquiet_hours = "21:00-21:00"', "schedule.quiet_hours"),
        ("[schedule]\ntick_seconds = 0", "schedule.tick_seconds"),
        ('[sms]\nbackend = "carrier-pigeon"', "sms.backend"),
        ("[sms]\nmax_per_second = 0", "sms.max_per_second"),
        ("[sms]\nconcurrency = 0", "sms.concurrency"),
        ('[sms]\napi_base_url = "localhost:9000"', "sms.api_base_url"),
        ("[email]\nport = 70000", "email.port"),
        ('[email]\nfrom_address = "nobody"', "email.from_address"),
        ('[email]\nstarttls = "maybe"', "email.starttls"),
        ('colour = "blue"', "colour"),
        ("[sms]\nsender = 1", "sms.sender"),
        ('sms = "twilio"', "sms"),
    ],
)
def test_bad_value_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert f"config key {key}:" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OUTAGE_NOTIFY_SMS__CONCURRENCY", "many", "config key sms.concurrency:"),
        ("OUTAGE_NOTIFY_TIMEZONE", "Nowhere", "config key timezone:"),
        ("OUTAGE_NOTIFY_COLOUR", "blue", "OUTAGE_NOTIFY_COLOUR names no config key"),
        ("OUTAGE_NOTIFY_SMS__SENDER", "x", "OUTAGE_NOTIFY_SMS__SENDER names no config key"),
    ],
)
def test_bad_environment_variable_names_it(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        load_settings(environ={name: value})


def test_missing_and_broken_config_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(SettingsError, match=r"\$OUTAGE_NOTIFY_CONFIG"):
        load_settings(environ={"OUTAGE_NOTIFY_CONFIG": str(tmp_path / "nope.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("hotline = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken, environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("72h", 259200), ("90m", 5400), ("45s", 45), ("7d", 604800), ("1h30m", 5400), ("0.5h", 1800)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "72", "72 h", "3w", "1h-2m", "-2h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_every_key_is_in_the_documented_default_file() -> None:
    documented = (REPO / "config" / "outage-notify.toml").read_text(encoding="utf-8")
    section = ""
    present = set()
    for line in documented.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1] + "."
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            present.add(section + key)
            assert "#" in line, f"{section}{key} has no comment in config/outage-notify.toml"
    assert present == set(all_keys())


def test_voice_and_critical_sections(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[voice]\nbackend = "file"\nvoice_en = "alice"\n'
        '[critical]\nack_wait = "90m"\ndispatch_email = "crews@example.org"\n'
    )
    settings = load_settings(path, environ={"OUTAGE_NOTIFY_CRITICAL__CALL_WAIT": "30m"})
    assert settings.voice.backend == "file"
    assert settings.voice.speaker("en") == ("alice", "en-US")
    assert settings.voice.speaker("zh-CN") == ("Polly.Zhiyu", "cmn-CN")
    assert settings.critical.ack_wait == timedelta(minutes=90)
    assert settings.critical.call_wait == timedelta(minutes=30)
    assert settings.critical.dispatch_email == "crews@example.org"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[voice]\nbackend = "sip"\n', "voice.backend"),
        ('[critical]\nack_wait = "soon"\n', "critical.ack_wait"),
        ('[critical]\ndispatch_email = "crews"\n', "critical.dispatch_email"),
    ],
)
def test_bad_voice_or_critical_value_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError, match=key):
        load_settings(path, environ={})
