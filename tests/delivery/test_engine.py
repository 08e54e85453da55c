"""The engine factory: channels and limits from the registry, one rate limiter per channel."""

from __future__ import annotations

from channels.base import Message
from channels.email import FileEmail
from channels.sms import FileSMS
from outage_notify.db import Database
from outage_notify.delivery.engine import build_engine, limiter
from outage_notify.residents.subscription_messages import send_now
from outage_notify.settings import Settings
from tests.engine import ScriptedChannel


def test_the_settings_give_the_channels_and_their_limits(
    sqlite_db: Database, settings: Settings
) -> None:
    engine = build_engine(sqlite_db, settings)
    assert isinstance(engine.channels["sms"], FileSMS)
    assert isinstance(engine.channels["email"], FileEmail)
    assert engine.dispatcher.concurrency["sms"] == settings.sms.concurrency
    assert engine.dispatcher.quiet_hours == settings.schedule.quiet_hours
    engine.close()


def test_a_disabled_channel_is_left_out(sqlite_db: Database, settings: Settings) -> None:
    off = settings.model_copy(
        update={"email": settings.email.model_copy(update={"backend": "disabled"})}
    )
    assert set(build_engine(sqlite_db, off).channels) == {"sms"}


def test_notices_and_sign_up_codes_share_the_channels_rate_limiter(
    sqlite_db: Database, settings: Settings
) -> None:
    engine = build_engine(sqlite_db, settings)
    assert engine.dispatcher.buckets["sms"] is limiter(settings, "sms")
    assert build_engine(sqlite_db, settings).dispatcher.buckets["sms"] is limiter(settings, "sms")


def test_a_sign_up_message_waits_for_its_token_before_it_goes() -> None:
    channel, calls = ScriptedChannel(), []
    message = Message(
        delivery_id=0, recipient_id="subscriber:1", address="+1", language="en", text="x"
    )
    channel.script = lambda _m: calls.append("send")  # type: ignore[func-returns-value]
    assert send_now(message, lambda: channel, wait=lambda: calls.append("token")) is True
    assert calls == ["token", "send"]
