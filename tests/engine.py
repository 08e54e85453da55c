"""Test doubles for the delivery engine: a scriptable channel and a plain composer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from channels.base import DeliveryResult, Message
from outage_notify.db import Database
from outage_notify.delivery.attempts import Backoff, ClaimedDelivery
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.engine import build_engine


class ScriptedChannel:
    """Records every message; ``script`` may raise ChannelError or return a result."""

    name: ClassVar[str] = "fake"

    def __init__(self, script: Callable[[Message], DeliveryResult | None] | None = None) -> None:
        self.script = script
        self.sent: list[Message] = []
        self.attempts: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> DeliveryResult:
        with self.lock:
            self.attempts.append(message)
        result = self.script(message) if self.script else None
        with self.lock:
            self.sent.append(message)
        return result or DeliveryResult(provider_id=f"P{message.delivery_id}")

    def close(self) -> None:
        pass


class PlainComposer:
    def compose(self, delivery: ClaimedDelivery) -> Message:
        return Message(
            delivery_id=delivery.id,
            recipient_id=delivery.recipient_id,
            address=delivery.address,
            language=delivery.language,
            text=f"notice {delivery.notice_id} ({delivery.kind})",
            subject="notice",
            valid_until=delivery.valid_until,
        )


class NoWaitBackoff(Backoff):
    """Deterministic: always exactly ``base`` seconds (or Retry-After when longer)."""

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        return max(self.base, retry_after or 0.0)


def make_dispatcher(
    database: Database,
    *,
    sms: ScriptedChannel | None = None,
    email: ScriptedChannel | None = None,
    concurrency: int = 2,
    rate: float = 10_000.0,
    backoff: Backoff | None = None,
) -> Dispatcher:
    channels = {}
    if sms is not None:
        channels["sms"] = sms
    if email is not None:
        channels["email"] = email
    return build_engine(
        database,
        channels=channels,
        composer=PlainComposer(),
        concurrency_of=dict.fromkeys(channels, concurrency),
        rates_of=dict.fromkeys(channels, rate),
        backoff=backoff or NoWaitBackoff(base=60),
    ).dispatcher
