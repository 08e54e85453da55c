"""The channel registry: one descriptor per push channel, the one place that names a channel.

Everything else (the dispatcher, the outbox, targeting, reports, the web) asks the
descriptor instead of comparing names: which Customer column holds the address, which flags
it invalid, how fast and how many at once it may send, whether quiet hours apply, whether the
provider can be asked after a timeout if it already has the message, how to build the channel
from the settings.

``CHANNELS`` is a plain dict, in the order channels are offered to a customer without a
choice. Another channel is one descriptor away::

    from outage_notify.registry import ChannelSpec, register

    register(ChannelSpec(name="pager", contact="phone", invalid_flag="phone_invalid",
                         build=lambda settings, **_: PagerChannel(), ...))

Tests use :func:`registered`, which removes it again. The channel classes themselves live in
the leaf package ``channels/``; they are imported inside the builders, so importing this
module (every CLI start-up does) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from outage_notify.errors import SettingsError
from outage_notify.settings import Settings

if TYPE_CHECKING:
    from channels.base import PushChannel

# The path Twilio posts delivery reports to (served by web/twilio.py).
STATUS_PATH = "/twilio/status"
# SMTP servers take a handful of parallel connections well; not a config key (yet).
EMAIL_CONCURRENCY = 4


class Builder(Protocol):
    """``build(settings, status_callbacks=...)``: the configured backend of a channel.

    ``status_callbacks=False`` for messages that are no Delivery (a sign-up's code): a
    provider would report their status to nobody.
    """

    def __call__(self, settings: Settings, *, status_callbacks: bool = True) -> PushChannel: ...


@dataclass(frozen=True)
class ChannelSpec:
    """What the core knows about a channel. Limits are attributes, as apprise's plugins have."""

    name: str  # the value stored in delivery.channel, subscriber.channel, opt_out.channel
    contact: str  # the Customer column holding the address ("phone", "email")
    invalid_flag: str  # the Customer column set when a provider says it cannot receive
    contact_words: str  # how reports name the contact: "phone number", "email address"
    build: Builder
    enabled: Callable[[Settings], bool]  # False: its deliveries are skipped, not queued
    max_per_second: Callable[[Settings], float]
    concurrency: Callable[[Settings], int]
    # "text": the notice's short text (templates/sms/...), one body for every recipient in
    # a language; "email": subject, text, HTML, calendar and unsubscribe link per recipient.
    message: Literal["text", "email"] = "text"
    body_maxlen: int | None = None  # characters the provider accepts in one message
    segment_length: int | None = None  # characters per billed segment (GSM-7), if it has any
    # Can the provider be asked, after a timeout or a crash, whether it already has the
    # message (``channel.lookup``)? Without it, a resend after a crash may go twice.
    can_lookup: bool = False
    # Quiet hours (``schedule.quiet_hours``) apply: the timeline plans the channel outside
    # them and the dispatcher defers what can wait when a fan-out runs into them.
    quiet_hours_apply: bool = False
    # Which Notice column is this channel's due time: "sms_due_at" is the time moved out of
    # the quiet hours (and earlier by the fan-out's length at max_per_second).
    due_column: Literal["due_at", "sms_due_at"] = "due_at"
    # Residents can sign up on the web with this kind of address (and confirm it).
    address_kind: Literal["phone", "email"] = "phone"


def status_callback_url(settings: Settings) -> str:
    return f"{settings.public_url}{STATUS_PATH}"


def build_sms(settings: Settings, *, status_callbacks: bool = True) -> PushChannel:
    """The SMS backend ``sms.backend`` names; a Twilio backend without credentials is an error."""
    from channels.sms import BACKENDS, DisabledSMS, FileSMS, TwilioSMS

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


def build_email(settings: Settings, *, status_callbacks: bool = True) -> PushChannel:
    """The email backend ``email.backend`` names, configured from ``[email]``."""
    from channels.email import BACKENDS

    email = settings.email
    if email.backend == "smtp":
        return BACKENDS["smtp"](
            host=email.host,
            port=email.port,
            username=email.username,
            password=email.password.get_secret_value(),
            starttls=email.starttls,
            from_address=email.from_address,
        )
    if email.backend == "file":
        return BACKENDS["file"](email.file_dir, email.from_address)
    return BACKENDS["disabled"]()


SMS = ChannelSpec(
    name="sms",
    contact="phone",
    invalid_flag="phone_invalid",
    contact_words="phone number",
    build=build_sms,
    enabled=lambda s: s.sms.backend != "disabled",
    max_per_second=lambda s: s.sms.max_per_second,
    concurrency=lambda s: s.sms.concurrency,
    message="text",
    body_maxlen=1600,  # Twilio refuses longer bodies (error 21617)
    segment_length=160,
    can_lookup=True,
    quiet_hours_apply=True,
    due_column="sms_due_at",
    address_kind="phone",
)

EMAIL = ChannelSpec(
    name="email",
    contact="email",
    invalid_flag="email_invalid",
    contact_words="email address",
    build=build_email,
    enabled=lambda s: s.email.backend != "disabled",
    max_per_second=lambda s: s.email.max_per_second,
    concurrency=lambda s: EMAIL_CONCURRENCY,
    message="email",
    address_kind="email",
)

CHANNELS: dict[str, ChannelSpec] = {SMS.name: SMS, EMAIL.name: EMAIL}


def spec(name: str) -> ChannelSpec:
    """The descriptor of channel ``name``; KeyError for a channel nobody registered."""
    return CHANNELS[name]


def names() -> tuple[str, ...]:
    return tuple(CHANNELS)


def by_contact(contact: str) -> ChannelSpec:
    """The first channel that reads Customer column ``contact`` (``phone`` -> sms)."""
    return next(s for s in CHANNELS.values() if s.contact == contact)


def register(channel: ChannelSpec) -> ChannelSpec:
    """Add (or replace) a channel. Call it at import time of the module that defines it."""
    CHANNELS[channel.name] = channel
    return channel


def unregister(name: str) -> None:
    CHANNELS.pop(name, None)


@contextmanager
def registered(channel: ChannelSpec) -> Iterator[ChannelSpec]:
    """Register ``channel`` for the duration of a ``with`` block (tests)."""
    before = CHANNELS.get(channel.name)
    register(channel)
    try:
        yield channel
    finally:
        if before is None:
            unregister(channel.name)
        else:
            CHANNELS[channel.name] = before
