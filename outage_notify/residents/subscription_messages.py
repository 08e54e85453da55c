"""The messages of a sign-up: the confirmation email and the SMS code, and sending them.

Rendered from ``templates/subscribe/confirm.<language>.*`` and ``code.<language>.txt``, and
sent at once through the configured backends (``email.backend``, ``sms.backend``), never
through the outbox: a person is waiting on the page. The caller sends only after its
transaction has committed. Logs name the subscriber row, never the address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from channels.base import ChannelError, Message, PushChannel
from outage_notify import registry
from outage_notify.errors import SettingsError
from outage_notify.notices.sms_replies import sender_names
from outage_notify.notices.texts import TEMPLATES
from outage_notify.residents.subscriptions import EMAIL_LINK_VALID, SMS_CODE_VALID
from outage_notify.settings import Settings

log = logging.getLogger(__name__)


def confirm_url(settings: Settings, token: str, language: str) -> str:
    """The link of the confirmation email; its page speaks the email's language."""
    return f"{settings.public_url}/subscribe/confirm/{token}?lang={language}"


def _render(name: str, **values: object) -> str:
    return TEMPLATES.get_template(f"subscribe/{name}").render(**values).strip()


def confirmation_email(
    settings: Settings,
    *,
    address: str,
    language: str,
    area_names: str,
    token: str,
    recipient_id: str,
) -> Message:
    values = {
        "areas": area_names,
        "link": confirm_url(settings, token, language),
        "days": EMAIL_LINK_VALID.days,
        "hotline": settings.hotline,
        "public_url": settings.public_url,
    }
    return Message(
        delivery_id=0,
        recipient_id=recipient_id,
        address=address,
        language=language,
        subject=" ".join(_render(f"confirm.{language}.subject.txt").split()),
        text=_render(f"confirm.{language}.txt", **values) + "\n",
        html=_render(f"confirm.{language}.html", **values) + "\n",
    )


def code_sms(
    settings: Settings,
    *,
    address: str,
    language: str,
    code: str,
    recipient_id: str,
    valid_until: datetime,
) -> Message:
    """The code, opened by its sender as a reply is: ``City Water and City Gas: `` in English,
    the 【】 signature (``utility.reply_sms_signature``) in Chinese."""
    minutes = int(SMS_CODE_VALID.total_seconds() // 60)
    values = {
        "code": code,
        "minutes": minutes,
        "sender": sender_names(language, settings),
        "signature": settings.utility.reply_signature(),
    }
    return Message(
        delivery_id=0,
        recipient_id=recipient_id,
        address=address,
        language=language,
        text=_render(f"code.{language}.txt", **values),
        # The provider drops the text rather than deliver a code that no longer works.
        valid_until=valid_until,
    )


def send_now(
    message: Message,
    channel: Callable[[], PushChannel],
    *,
    wait: Callable[[], object] | None = None,
) -> bool:
    """Send one message through a fresh backend; False (and logged) when it did not go.

    ``wait`` takes a token from the channel's rate limiter first (the web app passes the one
    the dispatcher uses, so codes and notices together keep to ``max_per_second``).
    """
    try:
        backend = channel()
    except SettingsError as error:
        log.error("sign-up message to %s not sent: %s", message.recipient_id, error)
        return False
    try:
        if wait is not None:
            wait()
        backend.send(message)
    except ChannelError as error:
        log.warning(
            "sign-up message to %s not sent: %s (%s)",
            message.recipient_id,
            error.reason,
            error.code,
        )
        return False
    finally:
        backend.close()
    log.info("sign-up message sent to %s", message.recipient_id)
    return True


def backend(settings: Settings, channel: str) -> Callable[[], PushChannel]:
    """The configured backend of ``channel``, built when called.

    No status callback: a code is not a Delivery, and its status would be "unknown".
    """
    return lambda: registry.spec(channel).build(settings, status_callbacks=False)
