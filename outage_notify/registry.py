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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from outage_notify.errors import SettingsError

if TYPE_CHECKING:
    from channels.base import PushChannel
    from outage_notify.settings import Settings

# The path Twilio posts delivery reports to (served by web/twilio.py).
STATUS_PATH = "/twilio/status"
# The path Twilio posts a call's keypresses and status callbacks to (web/twilio.py).
VOICE_PATH = "/twilio/voice"
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
    # a language; "email": subject, text, HTML, calendar and unsubscribe link per recipient;
    # "voice": what a call says (templates/voice/...), the keypress menu included.
    message: Literal["text", "email", "voice"] = "text"
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
    # How a resident who signs up on the web confirms the address: a "link" mailed to it or
    # a "code" texted to it (or a YES reply); None: no web sign-up on this channel.
    confirm_by: Literal["link", "code"] | None = None
    # Offered to a customer who chose no channels when they have its contact. Calls are
    # not: they go to those who ask for them, and to landlines.
    by_default: bool = True
    # Takes over channel ``stands_in_for`` for a customer whose Customer column
    # ``stands_in_when`` is true: a call instead of an SMS to a landline.
    stands_in_for: str | None = None
    stands_in_when: str | None = None


def _require_twilio(channel: str, needed: Sequence[tuple[str, str]]) -> None:
    """A Twilio backend of ``channel`` needs every value of ``needed`` (config key, value):
    one error naming every empty key, with the way out."""
    missing = [key for key, value in needed if not value]
    if missing:
        raise SettingsError(
            f'config key {", ".join(missing)}: required when {channel}.backend = "twilio" '
            f'(or set {channel}.backend to "file" or "disabled")'
        )


def _twilio_account(settings: Settings) -> list[tuple[str, str]]:
    """The ``[sms]`` Twilio account's credentials, for ``_require_twilio`` (calls use it too)."""
    sms = settings.sms
    return [
        ("sms.account_sid", sms.account_sid),
        ("sms.auth_token", sms.auth_token.get_secret_value()),
    ]


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
    sender = (
        "sms.messaging_service_sid or sms.from_number",
        sms.messaging_service_sid or sms.from_number,
    )
    _require_twilio("sms", [*_twilio_account(settings), sender])
    return TwilioSMS(
        account_sid=sms.account_sid,
        auth_token=sms.auth_token.get_secret_value(),
        messaging_service_sid=sms.messaging_service_sid,
        from_number=sms.from_number,
        api_base_url=sms.api_base_url,
        status_callback_url=status_callback_url(settings) if status_callbacks else None,
    )


def build_email(settings: Settings, *, status_callbacks: bool = True) -> PushChannel:
    """The email backend ``email.backend`` names, configured from ``[email]``.

    Refuses an enabled backend without ``web.secret_key``: every email carries a signed
    unsubscribe link, so each one would fail on its own, once per recipient.
    """
    from channels.email import BACKENDS

    email = settings.email
    if email.backend != "disabled":
        settings.web.require_secret(
            'it signs the unsubscribe link in every email (or set email.backend = "disabled")'
        )
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
    confirm_by="code",
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
    confirm_by="link",
)


def voice_url(settings: Settings) -> str:
    return f"{settings.public_url}{VOICE_PATH}"


def build_voice(settings: Settings, *, status_callbacks: bool = True) -> PushChannel:
    """The voice backend ``voice.backend`` names; calls use the ``[sms]`` Twilio account."""
    from channels.voice import DisabledVoice, FileVoice, Speaker, TwilioVoice
    from outage_notify.settings import SHIPPED_LANGUAGES

    voice = settings.voice
    speakers = {language: Speaker(*voice.speaker(language)) for language in SHIPPED_LANGUAGES}
    callback = voice_url(settings) if status_callbacks else None
    if voice.backend == "file":
        return FileVoice(voice.file_dir, speakers=speakers, callback_url=callback)
    if voice.backend == "disabled":
        return DisabledVoice()
    _require_twilio("voice", [*_twilio_account(settings), ("voice.from_number", voice.from_number)])
    sms = settings.sms
    return TwilioVoice(
        account_sid=sms.account_sid,
        auth_token=sms.auth_token.get_secret_value(),
        from_number=voice.from_number,
        speakers=speakers,
        api_base_url=voice.api_base_url or sms.api_base_url,
        callback_url=callback,
        ring_seconds=voice.ring_seconds,
    )


VOICE = ChannelSpec(
    name="voice",
    contact="phone",
    invalid_flag="voice_invalid",
    contact_words="phone number",
    build=build_voice,
    enabled=lambda s: s.voice.backend != "disabled",
    max_per_second=lambda s: s.voice.max_per_second,
    concurrency=lambda s: s.voice.concurrency,
    message="voice",
    # Nobody wants a call at night: the SMS's time, moved out of the quiet hours.
    quiet_hours_apply=True,
    due_column="sms_due_at",
    by_default=False,
    stands_in_for="sms",
    stands_in_when="landline",
)

CHANNELS: dict[str, ChannelSpec] = {SMS.name: SMS, EMAIL.name: EMAIL, VOICE.name: VOICE}


def spec(name: str) -> ChannelSpec:
    """The descriptor of channel ``name``; KeyError for a channel nobody registered."""
    return CHANNELS[name]


def names() -> tuple[str, ...]:
    return tuple(CHANNELS)


def wanted(chosen: str, has_contact: Mapping[str, bool], flags: Mapping[str, bool]) -> list[str]:
    """The channels a customer gets notices on, in registry order.

    ``chosen`` is ``Customer.channels`` ("sms;voice"; empty: every channel offered by
    default that it has a contact for); ``flags`` the Customer columns a stand-in looks at
    (``landline``): a stand-in replaces the channel it stands in for.
    """
    picked = chosen.split(";") if chosen else []
    names = [
        n
        for n, s in CHANNELS.items()
        if (n in picked if chosen else s.by_default and has_contact.get(n, False))
    ]
    result: list[str] = []
    for name in names:
        for stand_in in CHANNELS.values():
            if (
                stand_in.stands_in_for == name
                and stand_in.stands_in_when is not None
                and flags.get(stand_in.stands_in_when, False)
            ):
                name = stand_in.name
                break
        if name not in result:
            result.append(name)
    return result


def with_contact(
    chosen: str, has_contact: Mapping[str, bool], flags: Mapping[str, bool]
) -> list[str]:
    """The channels a customer has a contact for, whether they chose them or not, but not
    one that is never offered by default unless it is one they get (a call they never
    asked for): what "every channel of the account" means to opt-outs and reports."""
    getting = wanted(chosen, has_contact, flags)
    return [
        n
        for n, s in CHANNELS.items()
        if has_contact.get(n, False) and (s.by_default or n in getting)
    ]


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
