"""Config sections of the voice channel, the critical-needs ladder and the no-water reports
(``[voice]``, ``[critical]``, ``[nowater]``); :mod:`outage_notify.settings` assembles them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outage_notify.settings_values import Duration, PositiveFloat, check_http_url


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class VoiceSettings(_Section):
    """Calls through Twilio with the ``[sms]`` account's SID and auth token."""

    backend: Literal["twilio", "file", "disabled"] = "disabled"
    from_number: str = ""
    api_base_url: str = ""  # empty: sms.api_base_url
    max_per_second: PositiveFloat = 1.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    ring_seconds: Annotated[int, Field(ge=5, le=600)] = 30
    file_dir: str = "outbox/voice"  # backend = file: each call's TwiML
    # Twilio <Say> voice and language name for each shipped language.
    voice_zh_cn: str = "Polly.Zhiyu"
    language_zh_cn: str = "cmn-CN"
    voice_en: str = "Polly.Joanna"
    language_en: str = "en-US"

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value) if value else value

    def speaker(self, language: str) -> tuple[str, str]:
        """(voice, language name) for one of our languages."""
        if language == "en":
            return self.voice_en, self.language_en
        return self.voice_zh_cn, self.language_zh_cn


class CriticalSettings(_Section):
    """The escalation ladder for critical-needs customers, planned back from the work start."""

    ack_wait: Duration = timedelta(hours=4)  # after the notice: no acknowledgement -> a call
    call_wait: Duration = timedelta(hours=2)  # after the call: none still -> door-knock list
    door_knock_time: Duration = timedelta(hours=6)  # what the crews need before the start
    dispatch_email: str = ""  # the door-knock list is emailed here too (empty: not emailed)

    @field_validator("dispatch_email")
    @classmethod
    def _address(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip()


class NoWaterSettings(_Section):
    threshold: Annotated[int, Field(ge=1, le=100_000)] = 3  # reports per area: alert
    window: Duration = timedelta(hours=72)  # after a restoration, reports are taken
    dispatch_email: Annotated[str, Field(pattern=r"^([^@\s]+@[^@\s]+)?$")] = ""
