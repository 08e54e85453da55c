"""A key pressed during a notice call (Twilio's ``<Gather>`` posts it to ``/twilio/voice``).

1: the resident heard it, which acknowledges their critical-needs ladder for the outage.
2: the message again. 9: no more calls, recorded as an opt-out of the voice channel (SMS and
email are untouched). Any other key, or none, plays the message again as 2 does.
The answer is TwiML in the call's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from channels.voice import (
    KEY_ACKNOWLEDGE,
    KEY_STOP,
    Speaker,
    call_twiml,
    say_twiml,
    with_query,
)
from outage_notify import registry
from outage_notify.models import Customer, Delivery, Notice, Outage
from outage_notify.notices.texts import build_context
from outage_notify.notices.voice import voice_reply, voice_text
from outage_notify.residents import optouts
from outage_notify.residents.acknowledgements import acknowledge
from outage_notify.settings import Settings

log = logging.getLogger(__name__)


def speaker(settings: Settings, language: str) -> Speaker:
    voice, spoken = settings.voice.speaker(language)
    return Speaker(voice=voice, language=spoken)


@dataclass(frozen=True)
class KeyAnswer:
    twiml: str
    action: str  # acknowledged | stopped | repeated | unknown_call


def answer_keypress(
    session: Session,
    settings: Settings,
    *,
    delivery_id: int | None,
    digits: str,
    channel: str,
    now: datetime,
) -> KeyAnswer:
    """Act on the key pressed in the call of ``delivery_id`` and say what happened."""
    delivery = session.get(Delivery, delivery_id) if delivery_id is not None else None
    if delivery is None or delivery.channel != channel:
        log.info("keypress for an unknown call", extra={"delivery_id": delivery_id})
        return KeyAnswer(
            say_twiml("", speaker(settings, settings.default_language)), "unknown_call"
        )
    language = delivery.language
    key = digits.strip()[:1]
    context = {"delivery_id": delivery.id, "key": key}
    if key == KEY_ACKNOWLEDGE:
        notice = session.get(Notice, delivery.notice_id)
        customer_ids = [
            i
            for i in session.exec(select(Customer.id).where(Customer.phone == delivery.address))
            if i is not None
        ]
        acknowledge(
            session,
            customer_ids=customer_ids,
            via=channel,
            now=now,
            outage_id=notice.outage_id if notice else None,
        )
        log.info("call acknowledged", extra=context)
        twiml = say_twiml(voice_reply("acknowledged", language), speaker(settings, language))
        return KeyAnswer(twiml, "acknowledged")
    if key == KEY_STOP:
        optouts.opt_out(
            session,
            channel=channel,
            address=delivery.address,
            source="voice",
            actor="resident",
            reason="pressed 9 during a call",
        )
        log.info("voice calls stopped by keypress", extra=context)
        twiml = say_twiml(voice_reply("stopped", language), speaker(settings, language))
        return KeyAnswer(twiml, "stopped")
    return KeyAnswer(repeat_twiml(session, settings, delivery), "repeated")


def repeat_twiml(session: Session, settings: Settings, delivery: Delivery) -> str:
    """The call's message once more, with the menu, as the call first said it."""
    notice = session.get(Notice, delivery.notice_id)
    assert notice is not None
    outage = session.get(Outage, notice.outage_id)
    assert outage is not None
    ctx = build_context(
        session,
        outage,
        kind=notice.kind,
        language=delivery.language,
        settings=settings,
        revision=notice.revision,
        told=delivery.told_revision,
    )
    gather = with_query(registry.voice_url(settings), delivery=delivery.id, event="gather")
    return call_twiml(voice_text(ctx), speaker(settings, delivery.language), gather_url=gather)
