"""Who an outage affects, and on which channels they hear about it.

A customer is affected by an outage of utility U when their ``U_area`` is one of the outage's
areas, or when their location lies inside one of those areas' polygons: the union, because a
missed resident is worse than an extra notice. Subscribers match by area. Channel preferences,
opt-outs and contacts flagged invalid are applied here, and one contact gets one message even
when several accounts share it.

The matching itself (area codes, polygons) is in ``matching.py``. :func:`recipients` streams,
for the outbox; :func:`target` holds one list, for previews.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from outage_notify import registry
from outage_notify.models import (
    Delivery,
    DeliveryState,
    Notice,
    OptOut,
    Outage,
    Subscriber,
    SubscriberStatus,
)
from outage_notify.planning.matching import COLUMN_AT, STREAM_CHUNK, stream_matches
from outage_notify.planning.reach import Reach, reach

# What counts as "already notified" for the follow-up notices (changed, cancelled, ...).
NOTIFIED_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED)


# Named tuples, not dataclasses: a city's notice makes a million of them, and a frozen
# dataclass costs three times as much to build.
class Recipient(NamedTuple):
    channel: str  # a name in the channel registry
    address: str  # E.164 phone number or normalised email address
    language: str
    customer_id: int | None
    subscriber_id: int | None
    matched_by: str  # "area_code" | "polygon" | "both" | "network" | "subscription" | "notified"
    critical: bool = False

    @property
    def recipient_id(self) -> str:
        """How logs name the recipient: never by the address."""
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"subscriber:{self.subscriber_id}"


class Skipped(NamedTuple):
    """An affected premise or subscriber left out on one channel, and why."""

    channel: str
    reason: str  # "opted_out" | "invalid_contact" | "no_contact"
    address: str | None
    customer_id: int | None
    subscriber_id: int | None
    language: str


@dataclass
class Targeting:
    recipients: list[Recipient] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    by_match: dict[str, int] = field(default_factory=dict)
    affected_customers: int = 0
    affected_subscribers: int = 0

    def count_by(self, *keys: str) -> dict[str, int]:
        """Recipients counted by attribute(s), e.g. ``count_by("channel", "language")``."""
        counts = Counter("/".join(str(getattr(r, k)) for k in keys) for r in self.recipients)
        return dict(sorted(counts.items()))


def customer_contacts(row: Any) -> dict[str, tuple[str | None, bool]]:
    """{channel: (address, flagged invalid)} of a matched row, for every registered channel."""
    return {
        name: (row[COLUMN_AT[spec.contact]], bool(row[COLUMN_AT[spec.invalid_flag]]))
        for name, spec in registry.CHANNELS.items()
    }


def customer_reach(row: Any, contacts: dict[str, tuple[str | None, bool]]) -> Reach:
    """The channels a matched customer is reached on (planning/reach.py): those named in
    ``Customer.channels`` that have a contact, else every channel offered by default it has
    a contact for; a landline's SMS becomes a call."""
    addresses = {c: address for c, (address, _invalid) in contacts.items()}
    return reach(row[COLUMN_AT["channels"]] or "", addresses, customer_flags(row))


def wanted_channels(row: Any, contacts: dict[str, tuple[str | None, bool]]) -> list[str]:
    """The chosen channels it has no contact for (to be skipped as no_contact), then the
    channels it is reached on."""
    found = customer_reach(row, contacts)
    return [*found.missing, *found.channels]


def contact_channels(row: Any, contacts: dict[str, tuple[str | None, bool]]) -> list[str]:
    """Every channel of a matched customer, chosen or not (``registry.with_contact``)."""
    return registry.with_contact(
        row[COLUMN_AT["channels"]] or "", _has(contacts), customer_flags(row)
    )


def customer_flags(row: Any) -> dict[str, bool]:
    """The Customer columns a stand-in channel looks at (``landline``)."""
    return {"landline": bool(row[COLUMN_AT["landline"]])}


def _has(contacts: dict[str, tuple[str | None, bool]]) -> dict[str, bool]:
    return {c: bool(address) for c, (address, _invalid) in contacts.items()}


def _customer_channels(row: Any) -> list[tuple[str, str | None, bool]]:
    """(channel, address, flagged invalid) for each channel the customer is reached on, after
    any chosen channel it has no contact for (address None: skipped as no_contact, so the
    report can say what was asked for)."""
    contacts = customer_contacts(row)
    return [(c, *contacts[c]) for c in wanted_channels(row, contacts)]


def _opted_out(session: Session) -> set[tuple[str, str]]:
    # Opt-outs are few next to customers: one read beats a query per batch of addresses.
    return {(c, a) for c, a in session.execute(select(col(OptOut.channel), col(OptOut.address)))}


@dataclass
class MatchCounts:
    """What :func:`recipients` counted on its way, complete once it is exhausted."""

    by_match: Counter[str] = field(default_factory=Counter)
    affected_customers: int = 0
    affected_subscribers: int = 0


def recipients(
    session: Session,
    outage: Outage,
    *,
    audience: str = "all",
    counts: MatchCounts | None = None,
) -> Iterator[Recipient | Skipped]:
    """Everyone a notice about ``outage`` for ``audience`` reaches or leaves out, one at a
    time: customers by id, then subscribers; the rows are read a chunk at a time.

    A contact shared by several accounts comes once for each; the first is the one to keep
    (``target()`` keeps it, and so does the outbox's UNIQUE constraint). Opted-out contacts
    come as ``Skipped``.
    """
    if audience not in ("all", "critical", "notified"):
        raise ValueError(f"unknown audience {audience!r}")
    counts = counts if counts is not None else MatchCounts()
    opted_out = _opted_out(session)

    def offered(recipient: Recipient) -> Recipient | Skipped:
        if (recipient.channel, recipient.address) in opted_out:
            return _skipped(recipient, "opted_out", recipient.address)
        return recipient

    if audience == "notified":
        for channel, address, language, customer_id, subscriber_id in _notified_rows(
            session, outage
        ):
            counts.by_match["notified"] += 1
            yield offered(
                Recipient(channel, address, language, customer_id, subscriber_id, "notified")
            )
        return
    for row, how in stream_matches(session, outage, critical_only=audience == "critical"):
        counts.affected_customers += 1
        counts.by_match[how] += 1
        for channel, address, invalid in _customer_channels(row):
            recipient = Recipient(channel, address or "", row[3], row[0], None, how, bool(row[5]))
            if not address:
                yield _skipped(recipient, "no_contact", None)
            elif invalid:
                yield _skipped(recipient, "invalid_contact", address)
            else:
                yield offered(recipient)
    if audience == "all":
        for sub in _subscribers(session, outage.area_codes):
            assert sub.id is not None
            counts.affected_subscribers += 1
            counts.by_match["subscription"] += 1
            yield offered(
                Recipient(sub.channel, sub.address, sub.language, None, sub.id, "subscription")
            )


def _skipped(recipient: Recipient, reason: str, address: str | None) -> Skipped:
    return Skipped(
        channel=recipient.channel,
        reason=reason,
        address=address,
        customer_id=recipient.customer_id,
        subscriber_id=recipient.subscriber_id,
        language=recipient.language,
    )


def target(session: Session, outage: Outage, *, audience: str = "all") -> Targeting:
    """The recipients of a notice about ``outage`` for ``audience`` (all, critical, notified),
    one per contact, all held at once (previews and reports; the outbox streams)."""
    counts = MatchCounts()
    result = Targeting()
    seen: set[tuple[str, str]] = set()
    for item in recipients(session, outage, audience=audience, counts=counts):
        if isinstance(item, Skipped):
            result.skipped.append(item)
        elif (item.channel, item.address) not in seen:
            seen.add((item.channel, item.address))
            result.recipients.append(item)
    result.affected_customers = counts.affected_customers
    result.affected_subscribers = counts.affected_subscribers
    if audience == "notified":
        result.by_match = dict(Counter(r.matched_by for r in result.recipients))
    else:
        result.by_match = dict(counts.by_match)
    return result


def _subscribers(session: Session, area_codes: Iterable[str]) -> Iterator[Subscriber]:
    rows = session.exec(
        select(Subscriber)  # type: ignore[call-overload]
        .where(
            col(Subscriber.area_code).in_(list(area_codes)),
            col(Subscriber.status) == SubscriberStatus.ACTIVE,
        )
        .order_by(col(Subscriber.id)),
        execution_options={"yield_per": 1_000},
    ).scalars()
    yield from rows


def _notified_rows(session: Session, outage: Outage) -> Iterator[Any]:
    """Everyone a notice of this outage already reached, on the channel that reached them."""
    rows = session.connection().execute(
        select(
            col(Delivery.channel),
            col(Delivery.address),
            col(Delivery.language),
            col(Delivery.customer_id),
            col(Delivery.subscriber_id),
        )
        .join(Notice, col(Notice.id) == col(Delivery.notice_id))
        .where(col(Notice.outage_id) == outage.id, col(Delivery.state).in_(NOTIFIED_STATES))
        .order_by(col(Delivery.id)),
        execution_options={"stream_results": True, "yield_per": STREAM_CHUNK},
    )
    for part in rows.partitions():
        yield from part
