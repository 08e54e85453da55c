"""The email notice: subject, plain text, HTML and calendar attachment for one recipient.

Rendered from ``templates/email/<kind>.<language>.subject.txt``, ``.txt`` and ``.html`` (the
HTML autoescaped), so it tells the same facts as the SMS plus the full description, the
affected areas, the link to the outage page and a one-click unsubscribe link.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from channels.base import Attachment, DeliveryResult, Message
from channels.calendar import calendar_document, outage_uid, outage_vevent
from channels.email_message import addr_spec
from outage_notify import registry
from outage_notify.db import utcnow
from outage_notify.models import NoticeKind
from outage_notify.notices import unsubscribe_links as unsubscribe
from outage_notify.notices.texts import NoticeContext, join_names, render
from outage_notify.settings import Settings

_SHUTOFF = {
    "zh-CN": {"water": "停水", "gas": "停气"},
    "en": {"water": "Water shutoff", "gas": "Gas shutoff"},
}
_CANCELLED = {"zh-CN": "【已取消】", "en": "Cancelled: "}
_CALL = {"zh-CN": "咨询电话", "en": "Hotline"}
_COLON = {"zh-CN": "：", "en": ": "}


def compose_email(
    ctx: NoticeContext,
    *,
    delivery_id: int,
    recipient_id: str,
    address: str,
    settings: Settings,
    valid_until: datetime | None = None,
    now: datetime | None = None,
    calendar: Attachment | None = None,
) -> Message:
    """The email for one delivery. ``now`` stamps the calendar attachment (DTSTAMP);
    ``calendar`` is that attachment when the caller already made it for this notice.

    Raises SettingsError when ``web.secret_key`` is empty (the unsubscribe link needs it).
    """
    token = unsubscribe.make_token(settings, channel=registry.EMAIL.name, address=address)
    link = unsubscribe.unsubscribe_url(settings, token)
    base = f"email/{ctx.kind}.{ctx.language}"
    return Message(
        delivery_id=delivery_id,
        recipient_id=recipient_id,
        address=address,
        language=ctx.language,
        subject=" ".join(render(f"{base}.subject.txt", ctx).split()),
        text=render(f"{base}.txt", ctx, unsubscribe_url=link) + "\n",
        html=render(f"{base}.html", ctx, unsubscribe_url=link) + "\n",
        attachments=(calendar or notice_calendar(ctx, settings=settings, now=now or utcnow()),),
        headers=unsubscribe.list_unsubscribe_headers(settings, token),
        valid_until=valid_until,
        sender_name=ctx.utility_name,
    )


def notice_calendar(ctx: NoticeContext, *, settings: Settings, now: datetime) -> Attachment:
    """The outage as an iCalendar attachment: METHOD:CANCEL when it is cancelled."""
    cancelled = ctx.kind == NoticeKind.CANCELLED
    language = ctx.language
    summary = f"{_SHUTOFF[language][ctx.utility]}{_COLON[language]}{ctx.title}"
    if cancelled:
        summary = _CANCELLED[language] + summary
    description = "\n\n".join(
        part
        for part in (
            ctx.description,
            f"{_CALL[language]}{_COLON[language]}{ctx.hotline}",
            ctx.outage_url,
        )
        if part
    )
    event = outage_vevent(
        uid=outage_uid(ctx.outage_id, settings.public_url),
        sequence=ctx.revision,
        start=ctx.start,
        end=ctx.end,
        summary=summary,
        stamp=now,
        description=description,
        url=ctx.outage_url,
        location=join_names(ctx.area_names, language),
        cancelled=cancelled,
        organizer=addr_spec(settings.email.from_address),
    )
    method = "CANCEL" if cancelled else "PUBLISH"
    return Attachment(
        filename=f"outage-{ctx.outage_id}.ics",
        content_type=f"text/calendar; method={method}",
        data=calendar_document([event], method=method),
    )


def sample_context(settings: Settings, *, language: str, now: datetime) -> NoticeContext:
    """A made-up advance notice for tomorrow, for ``outage-notify email test``."""
    zone = settings.zone
    start = (now.astimezone(zone) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    zh = language == "zh-CN"
    return NoticeContext(
        kind=NoticeKind.ADVANCE,
        language=language,
        outage_id=0,
        revision=1,
        utility="water",
        utility_name=settings.utility.name("water", language),
        title="测试通知（无实际停水）" if zh else "Test notice (no real shutoff)",
        description=(
            "这是一封测试邮件，用于检查邮件发送设置。"
            if zh
            else "This is a test email, sent to check the email set-up."
        ),
        area_codes=["TEST"],
        area_names=["测试片区" if zh else "Test area"],
        start=start,
        end=start + timedelta(hours=3),
        hotline=settings.hotline,
        outage_url=f"{settings.public_url}/",
    )


def send_test_email(
    settings: Settings, address: str, *, language: str, now: datetime
) -> DeliveryResult:
    """Send :func:`sample_context` to ``address`` through the configured backend.

    Raises ChannelError as the backend does, so the caller can show the code.
    """
    message = compose_email(
        sample_context(settings, language=language, now=now),
        delivery_id=0,
        recipient_id="test",
        address=address,
        settings=settings,
        now=now,
    )
    channel = registry.EMAIL.build(settings)
    try:
        return channel.send(replace(message, subject=f"[TEST] {message.subject}"))
    finally:
        channel.close()
