"""Self-service subscriptions: a resident follows areas by email or SMS, with double opt-in.

A sign-up writes one pending ``Subscriber`` row per area (``consent_source="web"``) and
returns the secret to send: an email link or an SMS code. Nothing is sent from here, and
nothing here talks to the network: the caller sends after the transaction has committed.
Confirming (the link, the code, or a YES reply to the code's text) makes the rows active
and records the consent's time and source; targeting then matches them by area like
customers. Every step is audited.

Opted-out addresses are never subscribed behind their back:

- email: the confirmation email still goes (the person asked for it on the website), and
  confirming it removes the email opt-out: the link proves the address's owner wants notices.
- SMS: a number that texted STOP cannot be texted a code (carriers block it), so the rows
  wait without one and the page asks the person to text YES (or START) from that phone, which
  turns texts back on and confirms them (:func:`confirm_by_reply`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from outage_notify import audit, registry
from outage_notify.errors import InputError
from outage_notify.models import Subscriber
from outage_notify.models import SubscriberStatus as S
from outage_notify.residents import optouts
from outage_notify.residents.subscription_secrets import (
    email_token,
    new_code,
    new_nonce,
    nonce_hash,
    parse_stored_code,
    read_email_token,
    stored_code,
)
from outage_notify.settings import Settings

# The channels whose sign-ups are confirmed by a mailed link and by a texted code.
BY_LINK = registry.EMAIL.name
BY_CODE = registry.SMS.name
EMAIL_LINK_VALID = timedelta(days=3)
SMS_CODE_VALID = timedelta(minutes=15)
CODE_TRIES = 5
# One confirmation message per address a minute: a form cannot be used to flood a phone.
RESEND_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class SignUp:
    """A checked sign-up: the address normalised, the areas known."""

    channel: str  # a registered channel that residents can sign up on (``confirm_by``)
    address: str
    area_codes: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class Requested:
    """What a sign-up did, and what the caller must send.

    ``outcome``: ``send`` (send ``secret``: the link token or the code), ``reply_yes`` (an
    opted-out number: nothing can be sent; it must text YES), ``already`` (every area is
    followed already) or ``wait`` (a message went to the address less than a minute ago).
    """

    outcome: str
    subscriber_ids: tuple[int, ...] = ()
    area_codes: tuple[str, ...] = ()
    secret: str | None = None
    expires_at: datetime | None = None
    was_opted_out: bool = False
    retry_after: int = 0


@dataclass(frozen=True)
class Confirmed:
    address: str
    area_codes: tuple[str, ...]
    newly: tuple[int, ...] = ()  # the rows this confirmation activated
    opted_back_in: bool = False


@dataclass(frozen=True)
class CodeCheck:
    """``outcome``: confirmed | wrong | expired | spent (too many tries) | none."""

    outcome: str
    tries_left: int = 0
    confirmed: Confirmed | None = None


@dataclass
class _Rows:
    rows: list[Subscriber] = field(default_factory=list)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.rows if r.id is not None)


def _rows(session: Session, channel: str, address: str) -> list[Subscriber]:
    return list(
        session.exec(
            select(Subscriber)
            .where(Subscriber.channel == channel, Subscriber.address == address)
            .order_by(col(Subscriber.id))
        ).all()
    )


def request_subscription(
    session: Session, settings: Settings, sign_up: SignUp, *, now: datetime, actor: str = "web"
) -> Requested:
    """Write the pending rows of a sign-up and make the secret to send (see the module)."""
    existing = {r.area_code: r for r in _rows(session, sign_up.channel, sign_up.address)}
    wanted = [c for c in sign_up.area_codes if getattr(existing.get(c), "status", "") != S.ACTIVE]
    opted_out = optouts.is_opted_out(session, sign_up.channel, sign_up.address)
    if not wanted and not opted_out:
        return Requested("already", area_codes=sign_up.area_codes)
    recent = [
        r.updated_at
        for r in existing.values()
        if r.status == S.PENDING
        and r.confirm_expires_at is not None
        and r.updated_at > now - RESEND_AFTER
    ]
    if recent:
        wait = RESEND_AFTER - (now - max(recent))
        return Requested("wait", retry_after=max(1, math.ceil(wait.total_seconds())))
    by_link = registry.spec(sign_up.channel).confirm_by == "link"
    if by_link:
        nonce = new_nonce()
        secret: str | None = email_token(settings, sign_up.address, nonce)
        stored: str | None = nonce_hash(nonce)
        expires = now + EMAIL_LINK_VALID
        outcome = "send"
    elif opted_out:
        secret, stored, expires, outcome = None, None, now + SMS_CODE_VALID, "reply_yes"
    else:
        secret = new_code()
        stored = str(stored_code(settings, sign_up.address, secret))
        expires, outcome = now + SMS_CODE_VALID, "send"
    pending = _Rows()
    for code in wanted:
        row = existing.get(code)
        before = {"status": row.status} if row is not None else None
        if row is None:
            row = Subscriber(
                channel=sign_up.channel,
                address=sign_up.address,
                area_code=code,
                language=sign_up.language,
                consent_source="web",
                created_at=now,
            )
        row.move_to(S.PENDING, now)
        row.language = sign_up.language
        row.confirm_secret_hash = stored
        row.confirm_expires_at = expires
        session.add(row)
        session.flush()
        pending.rows.append(row)
        audit.record(
            session,
            actor=actor,
            action="subscriber.request",
            entity="subscriber",
            entity_id=row.id,
            before=before,
            after={
                "channel": row.channel,
                "area_code": code,
                "status": S.PENDING,
                "source": "web",
                "expires_at": expires,
            },
        )
    if opted_out and by_link:
        # The link also stands for the areas already followed: confirming it is what turns
        # this address's email back on.
        for code in sign_up.area_codes:
            row = existing[code] if code not in wanted else None
            if row is not None:
                row.confirm_secret_hash = stored
                session.add(row)
    return Requested(outcome, pending.ids, sign_up.area_codes, secret, expires, opted_out)


def forget_request(session: Session, subscriber_ids: Sequence[int]) -> None:
    """The message could not be sent: its secret is void and the address may ask again."""
    for row in session.exec(select(Subscriber).where(col(Subscriber.id).in_(subscriber_ids))):
        if row.status == S.PENDING:
            row.confirm_secret_hash = None
            row.confirm_expires_at = None
            session.add(row)


def _activate(
    session: Session, rows: Sequence[Subscriber], *, source: str, now: datetime, actor: str
) -> tuple[int, ...]:
    activated = []
    for row in rows:
        if row.status != S.PENDING:
            continue
        row.move_to(S.ACTIVE, now)
        row.consent_at = now
        row.consent_source = source
        row.confirm_expires_at = None
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="subscriber.confirm",
            entity="subscriber",
            entity_id=row.id,
            before={"status": S.PENDING},
            after={"status": S.ACTIVE, "consent_source": source, "consent_at": now},
        )
        activated.append(row.id or 0)
    return tuple(activated)


def read_confirmation(
    session: Session, settings: Settings, token: str, *, now: datetime
) -> list[Subscriber]:
    """The rows a confirmation link is for (pending, or active after a first click).

    InputError when the link is altered, expired or replaced by a newer sign-up.
    """
    address, nonce = read_email_token(settings, token, EMAIL_LINK_VALID)
    digest = nonce_hash(nonce)
    rows = [
        r
        for r in _rows(session, BY_LINK, address)
        if r.confirm_secret_hash == digest
        and (r.status == S.ACTIVE or (r.confirm_expires_at or now) > now)
        and r.status in (S.PENDING, S.ACTIVE)
    ]
    if not rows:
        raise InputError("this confirmation link is not valid any more")
    return rows


def confirm_email(
    session: Session, settings: Settings, token: str, *, now: datetime, actor: str = "web"
) -> Confirmed:
    """Activate the rows of a confirmation link; a second click changes nothing."""
    rows = read_confirmation(session, settings, token, now=now)
    address = rows[0].address
    newly = _activate(session, rows, source="web", now=now, actor=actor)
    opted_back_in = optouts.opt_in(
        session, channel=BY_LINK, address=address, source="web", actor=actor
    )
    return Confirmed(address, tuple(r.area_code for r in rows), newly, opted_back_in)


def confirm_sms_code(
    session: Session,
    settings: Settings,
    number: str,
    code: str,
    *,
    now: datetime,
    actor: str = "web",
) -> CodeCheck:
    """Check a code typed on the page. Every wrong try counts; after CODE_TRIES the code is
    void. Codes still outstanding for the number (two sign-ups) are all accepted."""
    waiting = [
        (row, stored)
        for row in _rows(session, BY_CODE, number)
        if row.status == S.PENDING
        and (stored := parse_stored_code(row.confirm_secret_hash)) is not None
    ]
    if not waiting:
        return CodeCheck("none")
    live = [(r, s) for r, s in waiting if (r.confirm_expires_at or now) > now]
    if not live:
        return CodeCheck("expired")
    live = [(r, s) for r, s in live if s.failed < CODE_TRIES]
    if not live:
        return CodeCheck("spent")
    right = [r for r, s in live if s.matches(settings, number, code)]
    if right:
        newly = _activate(session, right, source="web", now=now, actor=actor)
        confirmed = Confirmed(number, tuple(r.area_code for r in right), newly)
        return CodeCheck("confirmed", confirmed=confirmed)
    for row, stored in live:
        row.confirm_secret_hash = str(stored.failed_once_more())
        session.add(row)
    left = CODE_TRIES - max(s.failed for _, s in live) - 1
    return CodeCheck("wrong" if left > 0 else "spent", tries_left=max(left, 0))


def confirm_by_reply(
    session: Session, number: str, *, now: datetime, actor: str
) -> list[Subscriber]:
    """A YES (or START) texted from ``number``: its pending SMS sign-ups that have not
    expired become active, the consent recorded as given by SMS."""
    rows = [
        r
        for r in _rows(session, BY_CODE, number)
        if r.status == S.PENDING and r.confirm_expires_at is not None and r.confirm_expires_at > now
    ]
    _activate(session, rows, source="sms", now=now, actor=actor)
    return rows
