"""The message of one delivery: the notice's facts rendered for its channel and language.

Contexts are read once per (notice, language) and reused: a fan-out renders the same notice
for thousands of recipients, and only the email's unsubscribe link differs per address.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from channels.base import Message
from outage_notify import registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery.attempts import ClaimedDelivery
from outage_notify.models import Notice, Outage
from outage_notify.notices.email import compose_email
from outage_notify.notices.sms import sms_text
from outage_notify.notices.texts import NoticeContext, build_context
from outage_notify.settings import Settings

_CACHE_LIMIT = 2_000


class NoticeComposer:
    def __init__(
        self, database: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._contexts: dict[tuple[int, str], NoticeContext] = {}
        self._sms_texts: dict[tuple[int, str], str] = {}
        self._lock = threading.Lock()

    def context(self, notice_id: int, language: str) -> NoticeContext:
        key = (notice_id, language)
        with self._lock:
            cached = self._contexts.get(key)
        if cached is not None:
            return cached
        with self.database.read() as session:
            notice = session.get(Notice, notice_id)
            if notice is None:
                raise LookupError(f"notice {notice_id} does not exist")
            outage = session.get(Outage, notice.outage_id)
            assert outage is not None
            ctx = build_context(
                session,
                outage,
                kind=notice.kind,
                language=language,
                settings=self.settings,
                revision=notice.revision,
            )
        with self._lock:
            if len(self._contexts) >= _CACHE_LIMIT:
                self._contexts.clear()
                self._sms_texts.clear()
            self._contexts[key] = ctx
        return ctx

    def sms_text(self, notice_id: int, language: str) -> str:
        """The same for every recipient of a notice in a language: rendered once."""
        key = (notice_id, language)
        text = self._sms_texts.get(key)
        if text is None:
            text = sms_text(self.context(notice_id, language))
            with self._lock:
                self._sms_texts[key] = text
        return text

    def compose(self, delivery: ClaimedDelivery) -> Message:
        if registry.spec(delivery.channel).message == "text":
            return Message(
                delivery_id=delivery.id,
                recipient_id=delivery.recipient_id,
                address=delivery.address,
                language=delivery.language,
                text=self.sms_text(delivery.notice_id, delivery.language),
                valid_until=delivery.valid_until,
            )
        ctx = self.context(delivery.notice_id, delivery.language)
        return compose_email(
            ctx,
            delivery_id=delivery.id,
            recipient_id=delivery.recipient_id,
            address=delivery.address,
            settings=self.settings,
            valid_until=delivery.valid_until,
            now=self.clock(),
        )
