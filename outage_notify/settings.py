"""Settings: read once, typed, validated; a bad value fails naming the key.

Precedence, highest first: environment variables (``OUTAGE_NOTIFY_<KEY>``,
``OUTAGE_NOTIFY_<SECTION>__<KEY>``, or the same with ``_FILE`` naming a file that holds the
value), the TOML file (``--config``, else ``$OUTAGE_NOTIFY_CONFIG``, else
``./outage-notify.toml``), the built-in defaults.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from outage_notify.errors import SettingsError
from outage_notify.settings_values import (
    Duration,
    PositiveFloat,
    check_http_url,
    parse_quiet_hours,
)
from outage_notify.settings_values import parse_duration as parse_duration  # where it was
from outage_notify.utility_settings import UtilitySettings

ENV_PREFIX = "OUTAGE_NOTIFY_"
CONFIG_ENV = "OUTAGE_NOTIFY_CONFIG"
DEFAULT_CONFIG_NAME = "outage-notify.toml"
SHIPPED_LANGUAGES = ("zh-CN", "en")
# Environment variables under our prefix that are not config keys.
_NOT_KEYS = ("OUTAGE_NOTIFY_CONFIG",)
_NOT_KEY_PREFIXES = ("OUTAGE_NOTIFY_TEST_",)


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


from outage_notify.settings_sections import (  # noqa: E402 (they need _Section's config)
    CriticalSettings,
    NoWaterSettings,
    VoiceSettings,
    _Section,
)


class ScheduleSettings(_Section):
    water: list[Duration] = Field(default_factory=lambda: [_hours(72), _hours(24), _hours(2)])
    gas: list[Duration] = Field(default_factory=lambda: [_hours(48), _hours(2)])
    critical_lead: Duration = timedelta(hours=168)
    min_notice: Duration = timedelta(hours=24)
    # A shutoff longer than this is most likely a typo (a month for a day): planning it needs
    # --long-shutoff (the API's long_shutoff).
    plausible_length: Duration = timedelta(hours=72)
    quiet_hours: Annotated[tuple[time, time] | None, BeforeValidator(parse_quiet_hours)] = (
        time(21, 0),
        time(8, 0),
    )
    tick_seconds: Annotated[int, Field(ge=1, le=3600)] = 15

    @field_validator("water", "gas")
    @classmethod
    def _lead_times(cls, value: list[timedelta]) -> list[timedelta]:
        if not value:
            raise ValueError("needs at least one lead time")
        if any(v <= timedelta(0) for v in value):
            raise ValueError("lead times must be positive")
        return sorted(set(value), reverse=True)

    def lead_times(self, utility: str) -> list[timedelta]:
        return list(self.water if utility == "water" else self.gas)


class SmsSettings(_Section):
    backend: Literal["twilio", "file", "disabled"] = "twilio"
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    messaging_service_sid: str = ""
    from_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    max_per_second: PositiveFloat = 1.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    price_per_segment: Annotated[float, Field(ge=0)] = 0.0079
    file_path: str = "outbox/sms.jsonl"

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value)


class EmailSettings(_Section):
    backend: Literal["smtp", "file", "disabled"] = "smtp"
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    username: str = ""
    password: SecretStr = SecretStr("")
    starttls: bool = True
    from_address: str = "notices@example.org"
    max_per_second: PositiveFloat = 50.0
    file_dir: str = "outbox/email"

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", value.rsplit("<", 1)[-1].rstrip(">").strip()):
            raise ValueError(f"{value!r} is not an email address")
        return value


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    api_token: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; none by default.
    trusted_proxies: list[str] = Field(default_factory=list)
    form_burst: Annotated[int, Field(ge=1, le=10_000)] = 10
    form_per_minute: PositiveFloat = 2.0
    open311_api_key: SecretStr = SecretStr("")  # for POST /open311/v2/requests.json

    def require_secret(self, needed_for: str) -> str:
        """``web.secret_key``'s value; when it is empty, a SettingsError that names the key,
        ``needed_for`` (what it signs there) and how to set it."""
        secret = self.secret_key.get_secret_value()
        if not secret:
            raise SettingsError(
                f"config key web.secret_key is empty: {needed_for}; set it (for example with "
                "OUTAGE_NOTIFY_WEB__SECRET_KEY_FILE)"
            )
        return secret

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return [item.strip() for item in value]


class Settings(_Section):
    timezone: str = "Asia/Shanghai"
    database_url: str = "sqlite:///outage-notify.db"
    public_url: str = "http://127.0.0.1:8080"
    hotline: Annotated[str, Field(min_length=1, max_length=32)] = "12319"
    default_language: str = "zh-CN"
    default_region: str = "CN"
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    critical: CriticalSettings = Field(default_factory=CriticalSettings)
    nowater: NoWaterSettings = Field(default_factory=NoWaterSettings)
    utility: UtilitySettings = Field(default_factory=UtilitySettings)
    # Where the values came from, for `outage-notify --help`-level diagnostics; not a key.
    source: str | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as 'Asia/Shanghai')"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return check_http_url(value).rstrip("/")

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SHIPPED_LANGUAGES:
            raise ValueError(
                f"{value!r} is not a shipped language ({', '.join(SHIPPED_LANGUAGES)})"
            )
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a two-letter region code known to phonenumbers")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def key_names(self) -> list[str]:
        """Every config key as ``section.key``, for docs and their tests."""
        return all_keys()


_SECTIONS: dict[str, type[BaseModel]] = {
    "schedule": ScheduleSettings,
    "sms": SmsSettings,
    "email": EmailSettings,
    "web": WebSettings,
    "voice": VoiceSettings,
    "critical": CriticalSettings,
    "nowater": NoWaterSettings,
    "utility": UtilitySettings,
}


def all_keys() -> list[str]:
    top = [name for name in Settings.model_fields if name not in _SECTIONS and name != "source"]
    nested = [f"{s}.{k}" for s, model in _SECTIONS.items() for k in model.model_fields]
    return top + nested


def find_config_file(
    config_path: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise SettingsError(f"config file {path} (from --config) does not exist")
        return path
    if environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
        if not path.is_file():
            raise SettingsError(f"config file {path} (from ${CONFIG_ENV}) does not exist")
        return path
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from None


def _env_value(raw: str, section: str | None, key: str) -> object:
    model = _SECTIONS[section] if section else Settings
    annotation = str(model.model_fields[key].annotation)
    if annotation.startswith("list"):
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw  # validation names the key
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in _NOT_KEYS:
            continue
        if name.startswith(_NOT_KEY_PREFIXES):
            continue
        section, key, from_file = _env_key(name)
        raw = environ[name]
        if from_file:
            try:
                raw = Path(raw).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"{name}: cannot read {raw}: {exc.strerror}") from None
        value = _env_value(raw, section, key)
        if section:
            overrides.setdefault(section, {})[key] = value
        else:
            overrides[key] = value
    return overrides


def _env_key(name: str) -> tuple[str | None, str, bool]:
    rest = name[len(ENV_PREFIX) :]
    for from_file in (False, True):
        candidate = rest[: -len("_FILE")] if from_file else rest
        if from_file and not rest.endswith("_FILE"):
            break
        section, _, key = candidate.lower().rpartition("__")
        if section and section in _SECTIONS and key in _SECTIONS[section].model_fields:
            return section, key, from_file
        if (
            not section
            and key in Settings.model_fields
            and key not in _SECTIONS
            and key != "source"
        ):
            return None, key, from_file
    raise SettingsError(
        f"environment variable {name} names no config key "
        "(use OUTAGE_NOTIFY_<KEY> or OUTAGE_NOTIFY_<SECTION>__<KEY>)"
    )


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, origin: str) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"] if not isinstance(part, int))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"config key {key}: {message}")
    return f"{'; '.join(problems)} ({origin})"


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the settings once, at start-up. Raises SettingsError with a one-line message."""
    environ = os.environ if environ is None else environ
    path = find_config_file(config_path, environ)
    data = _read_toml(path) if path else {}
    for section in _SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise SettingsError(f"config key {section}: must be a [{section}] table ({path})")
    merged = _merge(data, _env_overrides(environ))
    origin = f"from {path} and the environment" if path else "from the environment"
    try:
        return Settings.model_validate({**merged, "source": str(path) if path else None})
    except ValidationError as exc:
        raise SettingsError(_describe(exc, origin)) from None
