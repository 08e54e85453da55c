"""``[utility]``: the utility's own name per utility and language, and its SMS signature."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

_SIGNATURE = re.compile(r"【[^【】\s]{1,20}】")


class UtilitySettings(BaseModel):
    """The utility's own name, per utility and language, and the SMS signature Chinese
    carriers require (the sender name registered with them, in 【】). The ``[utility]``
    section of the config (see settings.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    water_name: Annotated[str, Field(min_length=1, max_length=40)] = "城市供水"
    water_name_en: Annotated[str, Field(min_length=1, max_length=60)] = "City Water"
    gas_name: Annotated[str, Field(min_length=1, max_length=40)] = "城市燃气"
    gas_name_en: Annotated[str, Field(min_length=1, max_length=60)] = "City Gas"
    water_sms_signature: str = "【城市供水】"
    gas_sms_signature: str = "【城市燃气】"
    # Replies and sign-up codes come from the shared number, registered under one signature;
    # empty: the water signature.
    reply_sms_signature: str = ""

    @field_validator("water_sms_signature", "gas_sms_signature", "reply_sms_signature")
    @classmethod
    def _signature(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "reply_sms_signature" and not value.strip():
            return ""
        if not _SIGNATURE.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not an SMS signature: the name registered with the carriers in "
                "【】, such as 【城市供水】"
            )
        return value.strip()

    def name(self, utility: str, language: str) -> str:
        """``城市供水`` or ``City Water``: the name in ``language`` (English: ``*_name_en``)."""
        key = f"{utility}_name_en" if language == "en" else f"{utility}_name"
        return str(getattr(self, key))

    def signature(self, utility: str) -> str:
        return str(getattr(self, f"{utility}_sms_signature"))

    def reply_signature(self) -> str:
        """The signature of a text about no one outage (a reply, a sign-up code):
        ``reply_sms_signature``, else the water signature."""
        return self.reply_sms_signature or self.water_sms_signature
