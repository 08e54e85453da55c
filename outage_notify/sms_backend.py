"""The SMS channel the settings ask for (``[sms] backend``)."""

from __future__ import annotations

from channels.base import PushChannel
from channels.sms import BACKENDS, DisabledSMS, FileSMS, TwilioSMS
from outage_notify.errors import SettingsError
from outage_notify.settings import Settings

STATUS_PATH = "/twilio/status"


def status_callback_url(settings: Settings) -> str:
    return f"{settings.public_url}{STATUS_PATH}"


def sms_channel(settings: Settings, *, status_callbacks: bool = True) -> PushChannel:
    """Build the configured SMS backend; a Twilio backend without credentials is an error.

    ``status_callbacks=False`` for texts that are no Delivery (a sign-up's code): Twilio
    would report their status to nobody.
    """
    sms = settings.sms
    backend = BACKENDS[sms.backend]
    if backend is FileSMS:
        return FileSMS(sms.file_path)
    if backend is DisabledSMS:
        return DisabledSMS()
    token = sms.auth_token.get_secret_value()
    missing = [
        key
        for key, value in (("sms.account_sid", sms.account_sid), ("sms.auth_token", token))
        if not value
    ]
    if not sms.messaging_service_sid and not sms.from_number:
        missing.append("sms.messaging_service_sid or sms.from_number")
    if missing:
        raise SettingsError(
            f'config key {", ".join(missing)}: required when sms.backend = "twilio" '
            '(or set sms.backend to "file" or "disabled")'
        )
    return TwilioSMS(
        account_sid=sms.account_sid,
        auth_token=token,
        messaging_service_sid=sms.messaging_service_sid,
        from_number=sms.from_number,
        api_base_url=sms.api_base_url,
        status_callback_url=status_callback_url(settings) if status_callbacks else None,
    )
