"""The message of one delivery: the notice's facts rendered for its channel and language.

Contexts are read once per (notice, language, what the recipient was last told) and reused: a
fan-out renders the same notice for thousands of recipients, and only the email's unsubscribe
link differs per address (the calendar attachment, the costliest part of an email, is made
once per notice, group and second). A change notice has one text per group of recipients who
were last told the same revision (delivery/told.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlmodel import col, select

from channels.base import Attachment, Message
from outage_notify import registry
from outage_notify.db import Database, utcnow
from outage_notify.delivery.attempts import ClaimedDelivery
from outage_notify.models import UPCOMING_KINDS, Customer, Delivery, Notice, Outage
from outage_notify.notices.email import compose_email, notice_calendar
from outage_notify.notices.sms import sms_text
from outage_notify.notices.texts import NoticeContext, build_context
from outage_notify.notices.voice import voice_text
from outage_notify.settings import Settings

_CACHE_LIMIT = 2_000


class NoticeComposer:
    def __init__(
        self, database: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._contexts: dict[tuple[int, str, int | None], NoticeContext] = {}
        self._sms_texts: dict[tuple[int, str, int | None, bool], str] = {}
        self._voice_texts: dict[tuple[int, str, int | None], str] = {}
        self._critical: dict[int, frozenset[int]] = {}
        self._calendars: dict[tuple[int, str, int | None], tuple[datetime, Attachment]] = {}
        self._lock = threading.Lock()

    def context(self, notice_id: int, language: str, told: int | None = None) -> NoticeContext:
        """``told``: the revision the recipient was last told (the delivery's
        ``told_revision``), for a change notice."""
        key = (notice_id, language, told)
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
                told=told,
            )
        with self._lock:
            if len(self._contexts) >= _CACHE_LIMIT:
                self._contexts.clear()
                self._sms_texts.clear()
                self._voice_texts.clear()
                self._critical.clear()
                self._calendars.clear()
            self._contexts[key] = ctx
        return ctx

    def sms_text(
        self, notice_id: int, language: str, told: int | None = None, *, ask_ack: bool = False
    ) -> str:
        """The same for every recipient of a notice in a language who was last told the same
        (and for every critical one, who is asked to reply 1): rendered once."""
        key = (notice_id, language, told, ask_ack)
        text = self._sms_texts.get(key)
        if text is None:
            text = sms_text(self.context(notice_id, language, told), ask_ack=ask_ack)
            with self._lock:
                self._sms_texts[key] = text
        return text

    def voice_text(self, notice_id: int, language: str, told: int | None = None) -> str:
        key = (notice_id, language, told)
        text = self._voice_texts.get(key)
        if text is None:
            text = voice_text(self.context(notice_id, language, told))
            with self._lock:
                self._voice_texts[key] = text
        return text

    def asks_ack(self, delivery: ClaimedDelivery) -> bool:
        """A notice of upcoming work to a critical-needs customer asks them to reply 1."""
        if delivery.customer_id is None or delivery.kind not in UPCOMING_KINDS:
            return False
        critical = self._critical.get(delivery.notice_id)
        if critical is None:
            # One query per notice: the critical customers among its recipients.
            with self.database.read() as session:
                rows = session.exec(
                    select(Delivery.customer_id)
                    .join(Customer, col(Customer.id) == col(Delivery.customer_id))
                    .where(Delivery.notice_id == delivery.notice_id, col(Customer.critical))
                ).all()
            critical = frozenset(r for r in rows if r is not None)
            with self._lock:
                self._critical[delivery.notice_id] = critical
        return delivery.customer_id in critical

    def compose(self, delivery: ClaimedDelivery) -> Message:
        kind = registry.spec(delivery.channel).message
        told = delivery.told_revision
        if kind in ("text", "voice"):
            text = (
                self.voice_text(delivery.notice_id, delivery.language, told)
                if kind == "voice"
                else self.sms_text(
                    delivery.notice_id, delivery.language, told, ask_ack=self.asks_ack(delivery)
                )
            )
            return Message(
                delivery_id=delivery.id,
                recipient_id=delivery.recipient_id,
                address=delivery.address,
                language=delivery.language,
                text=text,
                valid_until=delivery.valid_until,
            )
        ctx = self.context(delivery.notice_id, delivery.language, told)
        now = self.clock()
        return compose_email(
            ctx,
            delivery_id=delivery.id,
            recipient_id=delivery.recipient_id,
            address=delivery.address,
            settings=self.settings,
            valid_until=delivery.valid_until,
            now=now,
            calendar=self.calendar(delivery.notice_id, ctx, now, told),
        )

    def calendar(
        self, notice_id: int, ctx: NoticeContext, now: datetime, told: int | None = None
    ) -> Attachment:
        """The notice's calendar attachment, the same for every recipient last told the same:
        made once a second (DTSTAMP, its only moving part, has whole seconds), not once an
        email."""
        key = (notice_id, ctx.language, told)
        stamp = now.replace(microsecond=0)
        cached = self._calendars.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        attachment = notice_calendar(ctx, settings=self.settings, now=now)
        with self._lock:
            self._calendars[key] = (stamp, attachment)
        return attachment
