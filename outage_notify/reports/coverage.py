"""Who an outage's notices reached before the work started, and the door-hanger list.

A premise (a customer account) is reached when any of its contacts (its phone on SMS, its
email on email) has a ``sent`` or ``delivered`` delivery of a notice of the outage, sent before
the work started. Deliveries are per contact, not per account (docs/decisions/0001): when two
accounts share a phone, the delivery names only the first, so reach is looked up by contact
address. Affected premises are matched on the current data
(``matching.match_outage_customers``, by valve isolation for an outage planned by pipe): the
report tells a planner who is not reached now, before the crew arrives.

Every affected premise not reached goes on the door-hanger list with one reason, and a detail
that says what happened on each channel it wants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.models import (
    UPCOMING_KINDS,
    Customer,
    Delivery,
    DeliveryState,
    Notice,
    NoticeState,
    OptOut,
    Outage,
)
from outage_notify.planning.matching import match_outage_customers
from outage_notify.planning.reach import Reach
from outage_notify.planning.targeting import contact_channels, customer_contacts, customer_reach
from outage_notify.reports.spreadsheet import write_csv

REACHED_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED)
IN_FLIGHT_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)

# Why an affected premise was not reached: its reason code -> what it means.
REASONS = {
    "no_contact": "no phone number or email address for the channels it wants",
    "opted_out": "opted out of every channel it wants",
    "invalid_contact": "every contact it has was flagged invalid by a provider",
    "failed": "every delivery to it failed or was undelivered",
    "expired": "its notices fell due after the work started and were never sent",
    "channel_disabled": "the channels it wants are disabled in the configuration",
    "sent_after_start": "a notice went out, but only after the work started",
    "superseded": "its notices were superseded by a change and nothing replaced them",
    "not_targeted": "no notice was addressed to it (it joined the area after they went out)",
    "not_yet_sent": "a notice to it is still to go: pending, retrying or not yet due",
    "mixed": "not reached, for a different reason on each channel (see the detail)",
}

DOOR_HANGER_COLUMNS = (
    "account_id",
    "name",
    "address",
    "phone",
    "email",
    "critical",
    "reason",
    "detail",
)

_CHUNK = 500


@dataclass(frozen=True)
class DoorHanger:
    """An affected premise that no notice reached before the work started."""

    customer_id: int
    account_id: str
    name: str
    address: str
    phone: str | None
    email: str | None
    critical: bool
    reason: str  # a key of REASONS
    detail: str  # per channel, e.g. "sms: failed (30007 carrier filtered); email: no address"

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in DOOR_HANGER_COLUMNS)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DOOR_HANGER_COLUMNS}


@dataclass
class Coverage:
    affected_premises: int = 0
    reached: int = 0
    reached_by_channel: dict[str, int] = field(default_factory=dict)
    # Affected premises whose contact on the channel has opted out (as of now).
    opted_out: dict[str, int] = field(default_factory=dict)
    opted_out_every_channel: int = 0  # every contact it has is opted out
    opt_out_sources: dict[str, int] = field(default_factory=dict)
    # Affected premises whose channels name a contact they lack (planning/reach.py): reached
    # on the rest of their chosen channels, or (fallback) on every channel they have.
    channel_without_contact: int = 0
    channel_fallback: int = 0
    door_hangers: list[DoorHanger] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        """Reached over affected; None when the outage affects nobody."""
        return self.reached / self.affected_premises if self.affected_premises else None

    def reasons(self) -> dict[str, int]:
        counts = Counter(d.reason for d in self.door_hangers)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}


@dataclass
class _History:
    """What the outage's deliveries to one contact not reached came to."""

    states: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)  # skip reasons
    failure: str = ""  # "30007 carrier filtered"
    retry_error: str = ""


def _histories(
    session: Session, outage: Outage
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], _History]]:
    """The contacts reached in time, and the history of every other contact written to."""
    in_time = case(
        (and_(col(Delivery.state).in_(REACHED_STATES), col(Delivery.sent_at) < outage.start_at), 1),
        else_=0,
    )
    # One row per (contact, state), the "in time" test done in SQL and fetched at once: a big
    # outage has a hundred thousand contacts, and per-row work in Python is what costs.
    rows = session.execute(
        select(
            col(Delivery.channel),
            col(Delivery.address),
            col(Delivery.state),
            func.max(in_time),
            func.max(col(Delivery.error_code)),
            func.max(col(Delivery.error)),
        )
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(col(Notice.outage_id) == outage.id)
        .group_by(col(Delivery.channel), col(Delivery.address), col(Delivery.state))
    ).all()
    reached = {(channel, address) for channel, address, _s, on_time, *_ in rows if on_time}
    histories: dict[tuple[str, str], _History] = {}
    for channel, address, state, _on_time, code, error in rows:
        if (channel, address) in reached:
            continue
        history = histories.setdefault((channel, address), _History())
        history.states.add(state)
        if state == DeliveryState.SKIPPED:
            history.skipped.add(error or "")
        elif state in (DeliveryState.FAILED, DeliveryState.UNDELIVERED):
            # Provider messages often name their code already ("Twilio 30007: ...").
            named = code and error and code in error
            history.failure = error if named else " ".join(p for p in (code, error) if p)
        elif state == DeliveryState.PENDING and error:
            history.retry_error = error
    return reached, histories


def _upcoming_audiences(session: Session, outage: Outage, now: datetime) -> set[str]:
    """Audiences ("all", "critical") that a notice not yet expanded will still reach."""
    if now >= outage.start_at:
        return set()
    rows = session.execute(
        select(col(Notice.audience)).where(
            col(Notice.outage_id) == outage.id,
            col(Notice.revision) == outage.revision,
            col(Notice.state) == NoticeState.PENDING,
            col(Notice.kind).in_(list(UPCOMING_KINDS)),
            col(Notice.deadline) > now,
        )
    )
    return {audience for (audience,) in rows}


def _opt_outs(session: Session) -> dict[tuple[str, str], str]:
    rows = session.execute(select(col(OptOut.channel), col(OptOut.address), col(OptOut.source)))
    return {(channel, address): source for channel, address, source in rows}


def _asked_for(found: Reach) -> str:
    """``asked for email, has no email address``: the drift a billing export carries."""
    text = "; ".join(
        f"asked for {c}, has no {registry.spec(c).contact_words}" for c in found.missing
    )
    if found.fallback:
        text += ", so every channel it has a contact for was used"
    return text


def _channel_outcome(
    channel: str,
    address: str | None,
    invalid: bool,
    history: _History | None,
    opt_out_source: str | None,
    upcoming: bool,
) -> tuple[str, str]:
    """(reason code, detail) for one channel of a premise not reached."""
    if not address:
        return "no_contact", f"no {registry.spec(channel).contact_words}"
    if opt_out_source is not None:
        return "opted_out", f"opted out ({opt_out_source})"
    if invalid:
        words = registry.spec(channel).contact_words
        return "invalid_contact", f"{words} flagged invalid by the provider"
    states = history.states if history else set()
    if states & set(IN_FLIGHT_STATES):
        retrying = history.retry_error if history else ""
        return "not_yet_sent", f"retrying after: {retrying}" if retrying else "not yet sent"
    if history is not None:
        # What already happened says more than a notice still ahead: a contact that failed
        # will most likely fail again, and the planner should know now.
        if states & set(REACHED_STATES):
            return "sent_after_start", "sent only after the work started"
        if states & {DeliveryState.FAILED, DeliveryState.UNDELIVERED}:
            return "failed", f"failed: {history.failure}" if history.failure else "failed"
        if DeliveryState.EXPIRED in states:
            return "expired", "expired unsent (the work had started)"
        if history.skipped:
            reason = sorted(history.skipped)[0]
            detail = f"skipped: {reason.replace('_', ' ')}"
            return (reason if reason in REASONS else "not_targeted"), detail
    if upcoming:
        return "not_yet_sent", "a notice is still to fall due"
    if history is None:
        return "not_targeted", "no notice was addressed to it"
    return "superseded", "superseded by a change"


def _premise_reason(outcomes: Sequence[tuple[str, str, str]], asked: str = "") -> tuple[str, str]:
    """One reason for the premise from its channels' (channel, reason, detail), and what it
    asked for but has no contact for."""
    if not outcomes:
        return "no_contact", asked or "no phone number or email address"
    reasons = {reason for _channel, reason, _detail in outcomes}
    detail = "; ".join([asked] * bool(asked) + [f"{c}: {text}" for c, _r, text in outcomes])
    if "not_yet_sent" in reasons:
        return "not_yet_sent", detail
    if len(reasons) == 1:
        return reasons.pop(), detail
    return "mixed", detail


def coverage(session: Session, outage: Outage, *, now: datetime) -> Coverage:
    """Reach before the start, opt-outs among the affected, and the door-hanger list."""
    customers = match_outage_customers(session, outage)
    reached_contacts, histories = _histories(session, outage)
    opt_outs = _opt_outs(session)
    upcoming = _upcoming_audiences(session, outage, now)
    result = Coverage(affected_premises=len(customers))
    reached_by: Counter[str] = Counter()
    opted: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    unreached: dict[int, tuple[str, str]] = {}
    for customer_id, (row, _how) in customers.items():
        _id, _phone, _email, _language, _chosen, critical = row[:6]
        found = customer_contacts(row)
        contacts = {c: address for c, (address, _invalid) in found.items()}
        way = customer_reach(row, found)
        if way.fallback:
            result.channel_fallback += 1
        elif way.drifted:
            result.channel_without_contact += 1
        reached = [c for c in registry.names() if (c, contacts[c]) in reached_contacts]
        reached_by.update(reached)
        present = contact_channels(row, found)
        out = [c for c in present if (c, contacts[c]) in opt_outs]
        opted.update(out)
        sources.update(opt_outs[(c, contacts[c] or "")] for c in out)
        if present and len(out) == len(present):
            result.opted_out_every_channel += 1
        if reached:
            result.reached += 1
            continue
        invalid = {c: flagged for c, (_address, flagged) in found.items()}
        audience_ahead = "all" in upcoming or (bool(critical) and "critical" in upcoming)
        outcomes = []
        for channel in way.channels:  # the same rule as targeting
            address = contacts[channel]
            key = (channel, address or "")
            reason, detail = _channel_outcome(
                channel,
                address,
                invalid[channel],
                histories.get(key),
                opt_outs.get(key),
                audience_ahead,
            )
            outcomes.append((channel, reason, detail))
        unreached[customer_id] = _premise_reason(outcomes, _asked_for(way))
    result.reached_by_channel = {c: reached_by[c] for c in registry.names()}
    result.opted_out = {c: opted[c] for c in registry.names()}
    result.opt_out_sources = dict(sorted(sources.items()))
    result.door_hangers = _door_hangers(session, unreached)
    return result


def _door_hangers(session: Session, unreached: dict[int, tuple[str, str]]) -> list[DoorHanger]:
    ids = sorted(unreached)
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows += session.execute(
            select(
                col(Customer.id),
                col(Customer.account_id),
                col(Customer.name),
                col(Customer.address),
                col(Customer.phone),
                col(Customer.email),
                col(Customer.critical),
            ).where(col(Customer.id).in_(chunk))
        ).all()
    hangers = [
        DoorHanger(
            customer_id=customer_id,
            account_id=account_id,
            name=name or "",
            address=address or "",
            phone=phone,
            email=email,
            critical=bool(critical),
            reason=unreached[customer_id][0],
            detail=unreached[customer_id][1],
        )
        for customer_id, account_id, name, address, phone, email, critical in rows
    ]
    # Critical-needs premises first: the crew visits them before the others.
    return sorted(hangers, key=lambda h: (not h.critical, h.account_id))


def write_door_hangers(stream: IO[str], hangers: Iterable[DoorHanger]) -> int:
    """The door-hanger list as CSV, every text cell neutralised; returns the row count."""
    return write_csv(stream, DOOR_HANGER_COLUMNS, (h.row() for h in hangers))
