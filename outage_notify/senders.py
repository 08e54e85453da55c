"""The push channels the settings ask for, and how fast each may go."""

from __future__ import annotations

from channels.base import PushChannel
from outage_notify.notices.email import email_channel
from outage_notify.settings import Settings
from outage_notify.sms_backend import sms_channel

# SMTP servers take a handful of parallel connections well; not a config key (yet).
EMAIL_CONCURRENCY = 4


def build_channels(settings: Settings) -> dict[str, PushChannel]:
    """The enabled channels; a disabled one is absent, so its deliveries are skipped."""
    channels: dict[str, PushChannel] = {}
    if settings.sms.backend != "disabled":
        channels["sms"] = sms_channel(settings)
    if settings.email.backend != "disabled":
        channels["email"] = email_channel(settings)
    return channels


def concurrency(settings: Settings) -> dict[str, int]:
    return {"sms": settings.sms.concurrency, "email": EMAIL_CONCURRENCY}


def rates(settings: Settings) -> dict[str, float]:
    return {"sms": settings.sms.max_per_second, "email": settings.email.max_per_second}
