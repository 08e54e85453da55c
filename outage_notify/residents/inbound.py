"""Inbound SMS: what residents text us, what it changes and what we text back.

Keywords are matched on the whole message, case- and width-insensitively (NFKC folds
full-width ``ＳＴＯＰ`` to ``STOP``), ignoring surrounding spaces and a final full stop,
exclamation or question mark. Every message is stored, keyword or not. A message that is no
keyword changes nothing; it gets the HELP text, but at most once a day per number, so two
auto-responders cannot text each other forever.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from outage_notify import audit, registry
from outage_notify.geo import areas_at
from outage_notify.models import (
    Customer,
    InboundMessage,
    Outage,
    OutageStatus,
    ServiceArea,
    Subscriber,
    SubscriberStatus,
)
from outage_notify.notices.sms_replies import StatusItem, render_reply, status_reply
from outage_notify.notices.texts import join_names
from outage_notify.residents import optouts
from outage_notify.residents.subscriptions import confirm_by_reply
from outage_notify.settings import SHIPPED_LANGUAGES, Settings

log = logging.getLogger(__name__)
# Texted replies (STOP, SUB, ...) come in on the SMS channel, through Twilio's webhook.
REPLIES = registry.SMS.name


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    SUB = "sub"


KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"],
        Keyword.STOP,
    ),
    **dict.fromkeys(["退订", "TD", "T"], Keyword.STOP),
    **dict.fromkeys(["START", "UNSTOP", "YES"], Keyword.START),
    **dict.fromkeys(["HELP", "INFO", "帮助"], Keyword.HELP),
    **dict.fromkeys(["STATUS", "状态"], Keyword.STATUS),
    **dict.fromkeys(["SUB", "订阅"], Keyword.SUB),
}
# Keywords that say the sender reads Chinese (TD and T abbreviate 退订 on Chinese networks).
CHINESE_KEYWORDS = frozenset({"退订", "TD", "T", "帮助", "状态", "订阅"})
PROVIDER_KEYWORDS = {"STOP": Keyword.STOP, "START": Keyword.START, "HELP": Keyword.HELP}
UNKNOWN_REPLY_INTERVAL = timedelta(days=1)
_TRAILING = ".!?。"
_MAX_CODE = 64


@dataclass(frozen=True)
class Parsed:
    keyword: Keyword | None
    word: str  # the keyword as written, normalised ("" when none)
    argument: str  # what follows SUB: the area code


def normalise(body: str) -> str:
    return unicodedata.normalize("NFKC", body).strip().rstrip(_TRAILING).strip().upper()


def parse(body: str, opt_out_type: str | None = None) -> Parsed:
    """The keyword of a message. ``opt_out_type`` is Twilio's ``OptOutType`` (STOP, START or
    HELP), sent when its Advanced Opt-Out matched a keyword, possibly one configured only in
    the Twilio console: Twilio has acted on it, so we follow."""
    text = normalise(body)
    provider = PROVIDER_KEYWORDS.get((opt_out_type or "").strip().upper())
    if provider is not None:
        return Parsed(provider, text[:16], "")
    if text in KEYWORDS:
        return Parsed(KEYWORDS[text], text, "")
    first, _, rest = text.partition(" ")
    if KEYWORDS.get(first) == Keyword.SUB:
        return Parsed(Keyword.SUB, first, rest.strip())
    if text.startswith("订阅"):  # Chinese needs no space: 订阅A12
        return Parsed(Keyword.SUB, "订阅", text[len("订阅") :].strip())
    return Parsed(None, "", "")


@dataclass(frozen=True)
class InboundResult:
    keyword: Keyword | None
    language: str
    reply: str | None  # None: answer with an empty TwiML response
    message_id: int | None
    duplicate: bool  # Twilio delivered this MessageSid before


@dataclass(frozen=True)
class Sender:
    address: str
    customers: list[Customer]
    subscribers: list[Subscriber]

    @property
    def recipient_id(self) -> str:
        if self.customers:
            return f"customer:{self.customers[0].id}"
        if self.subscribers:
            return f"subscriber:{self.subscribers[0].id}"
        return "unknown"


def find_sender(session: Session, address: str) -> Sender:
    customers = session.exec(
        select(Customer).where(Customer.phone == address).order_by(col(Customer.id))
    ).all()
    subscribers = session.exec(
        select(Subscriber)
        .where(Subscriber.channel == REPLIES, Subscriber.address == address)
        .order_by(col(Subscriber.id))
    ).all()
    return Sender(address, list(customers), list(subscribers))


def reply_language(sender: Sender, parsed: Parsed, settings: Settings) -> str:
    languages = [c.language for c in sender.customers] + [s.language for s in sender.subscribers]
    for language in languages:
        if language in SHIPPED_LANGUAGES:
            return language
    if parsed.word in CHINESE_KEYWORDS:
        return "zh-CN"
    return settings.default_language


def handle_inbound(
    session: Session,
    settings: Settings,
    *,
    sid: str | None,
    from_address: str,
    body: str,
    now: datetime,
    opt_out_type: str | None = None,
) -> InboundResult:
    """Store one inbound SMS, act on its keyword and return the reply, in one transaction.

    When Twilio says it handled the keyword (``opt_out_type``), it has already answered with
    the reply configured in its console, so there is no reply of ours: one is enough, and
    Twilio would refuse ours to a number that just opted out anyway.
    """
    parsed = parse(body, opt_out_type)
    sender = find_sender(session, from_address)
    language = reply_language(sender, parsed, settings)
    message_id, duplicate = _store(session, sid, from_address, body, parsed.keyword, now)
    actor = f"sms:{sender.recipient_id}"
    log.info(
        "inbound sms",
        extra={
            "inbound_id": message_id,
            "recipient": sender.recipient_id,
            "keyword": parsed.keyword.value if parsed.keyword else None,
            "repeated": duplicate,
        },
    )
    if parsed.keyword is None:
        reply = _unknown(session, settings, from_address, language, now, message_id)
    elif parsed.keyword == Keyword.STOP:
        optouts.opt_out(
            session,
            channel=REPLIES,
            address=from_address,
            source="sms",
            actor=actor,
            reason=f"keyword {parsed.word}",
        )
        reply = render_reply("stop", language, settings)
    elif parsed.keyword == Keyword.START:
        optouts.opt_in(session, channel=REPLIES, address=from_address, source="sms", actor=actor)
        reply = _start(session, settings, from_address, language, now, actor)
    elif parsed.keyword == Keyword.HELP:
        reply = render_reply("help", language, settings)
    elif parsed.keyword == Keyword.STATUS:
        reply = _status(session, settings, sender, language, now)
    else:
        reply = _subscribe(session, settings, sender, parsed.argument, language, now, actor)
    if opt_out_type and parsed.keyword in PROVIDER_KEYWORDS.values():
        reply = None
    return InboundResult(parsed.keyword, language, reply, message_id, duplicate)


def _store(
    session: Session,
    sid: str | None,
    address: str,
    body: str,
    keyword: Keyword | None,
    now: datetime,
) -> tuple[int | None, bool]:
    if sid:
        existing = session.exec(
            select(InboundMessage).where(InboundMessage.provider_sid == sid)
        ).first()
        if existing is not None:
            return existing.id, True
    row = InboundMessage(
        provider_sid=sid or None,
        from_address=address[:32],
        body=body[:1600],
        keyword=keyword.value if keyword else None,
        received_at=now,
    )
    try:
        with session.begin_nested():  # a retried webhook racing the first delivery
            session.add(row)
    except IntegrityError:
        existing = session.exec(
            select(InboundMessage).where(InboundMessage.provider_sid == sid)
        ).one()
        return existing.id, True
    return row.id, False


def _start(
    session: Session, settings: Settings, address: str, language: str, now: datetime, actor: str
) -> str:
    """START, UNSTOP or YES: texts are back on, and a sign-up from the website waiting for
    this number's confirmation is confirmed (its code's text says "or reply YES")."""
    confirmed = confirm_by_reply(session, address, now=now, actor=actor)
    if not confirmed:
        return render_reply("start", language, settings)
    names = _area_names(session, {s.area_code for s in confirmed}, language)
    areas = join_names([names.get(s.area_code, s.area_code) for s in confirmed], language)
    return render_reply("sub_confirmed", language, settings, area_names=areas)


def _unknown(
    session: Session,
    settings: Settings,
    address: str,
    language: str,
    now: datetime,
    message_id: int | None,
) -> str | None:
    earlier = session.exec(
        select(func.count())
        .select_from(InboundMessage)
        .where(
            InboundMessage.from_address == address,
            col(InboundMessage.keyword).is_(None),
            InboundMessage.received_at > now - UNKNOWN_REPLY_INTERVAL,
            InboundMessage.id != message_id,
        )
    ).one()
    return None if earlier else render_reply("help", language, settings)


def sender_areas(session: Session, sender: Sender) -> set[str]:
    """Area codes of the sender: customers' areas (by code and by location), active follows."""
    codes: set[str] = set()
    for customer in sender.customers:
        codes.update(c for c in (customer.water_area, customer.gas_area) if c)
        if customer.latitude is not None and customer.longitude is not None:
            codes.update(areas_at(session, customer.longitude, customer.latitude))
    codes.update(s.area_code for s in sender.subscribers if s.status == SubscriberStatus.ACTIVE)
    return codes


def _status(
    session: Session, settings: Settings, sender: Sender, language: str, now: datetime
) -> str:
    if not sender.customers and not any(
        s.status == SubscriberStatus.ACTIVE for s in sender.subscribers
    ):
        return render_reply("status_unknown", language, settings)
    codes = sender_areas(session, sender)
    outages = session.exec(
        select(Outage)
        .where(Outage.status == OutageStatus.PLANNED, Outage.end_at > now)
        .order_by(col(Outage.start_at), col(Outage.id))
    ).all()
    touching = [(o, [c for c in o.area_codes if c in codes]) for o in outages]
    touching = [(o, mine) for o, mine in touching if mine]
    names = _area_names(session, {c for _, mine in touching for c in mine}, language)
    zone = settings.zone
    items = [
        StatusItem(
            utility=o.utility,
            start=o.start_at.astimezone(zone),
            end=o.end_at.astimezone(zone),
            ongoing=o.start_at <= now,
            areas=join_names([names.get(c, c) for c in mine], language),
        )
        for o, mine in touching
    ]
    return status_reply(items, language, settings)


def _area_names(session: Session, codes: set[str], language: str) -> dict[str, str]:
    if not codes:
        return {}
    areas = session.exec(select(ServiceArea).where(col(ServiceArea.code).in_(codes))).all()
    return {a.code: a.label(language) for a in areas}


def find_area(session: Session, code: str) -> ServiceArea | None:
    """The area with this code, exactly or ignoring case."""
    area = session.exec(select(ServiceArea).where(ServiceArea.code == code)).first()
    if area is None:
        area = session.exec(
            select(ServiceArea).where(func.upper(ServiceArea.code) == code.upper())
        ).first()
    return area


def _subscribe(
    session: Session,
    settings: Settings,
    sender: Sender,
    code: str,
    language: str,
    now: datetime,
    actor: str,
) -> str:
    if not code:
        first = session.exec(select(ServiceArea.code).order_by(col(ServiceArea.code))).first()
        return render_reply("sub_usage", language, settings, example=first or "A12")
    area = find_area(session, code[:_MAX_CODE])
    if area is None:
        return render_reply("sub_unknown", language, settings, area_code=code[:20])
    subscriber = session.exec(
        select(Subscriber).where(
            Subscriber.channel == REPLIES,
            Subscriber.address == sender.address,
            Subscriber.area_code == area.code,
        )
    ).first()
    if subscriber is None or subscriber.status != SubscriberStatus.ACTIVE:
        before = {"status": subscriber.status} if subscriber else None
        if subscriber is None:
            subscriber = Subscriber(
                channel=REPLIES,
                address=sender.address,
                area_code=area.code,
                language=language,
                consent_source="sms",
            )
        subscriber.move_to(SubscriberStatus.ACTIVE, now)
        subscriber.consent_source = "sms"
        subscriber.consent_at = now
        session.add(subscriber)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="subscriber.subscribe",
            entity="subscriber",
            entity_id=subscriber.id,
            before=before,
            after={"channel": REPLIES, "area_code": area.code, "status": SubscriberStatus.ACTIVE},
        )
    name = area.label(language)
    opted_out = optouts.is_opted_out(session, REPLIES, sender.address)
    return render_reply(
        "sub_opted_out" if opted_out else "sub",
        language,
        settings,
        area_name=name,
        area_code=area.code,
    )
