"""The states and kinds the models store, as enums (their values are what the columns hold).

Re-exported by ``models``; one place for each set of states and the moves between them.
"""

from __future__ import annotations

from enum import StrEnum


class Utility(StrEnum):
    WATER = "water"
    GAS = "gas"


class OutageStatus(StrEnum):
    REVIEW = "review"  # from an untrusted upstream source: no notices until approved
    PLANNED = "planned"
    CANCELLED = "cancelled"
    RESTORED = "restored"


# The values, as the checks and the CLI's choices take them.
UTILITIES = tuple(u.value for u in Utility)
OUTAGE_STATUSES = tuple(s.value for s in OutageStatus)


class NoticeKind(StrEnum):
    ADVANCE = "advance"  # the first notice of upcoming work (also the critical-lead one)
    REMINDER = "reminder"  # later lead times before the start
    CHANGED = "changed"  # rescheduled
    EXTENDED = "extended"
    CANCELLED = "cancelled"
    RESTORED = "restored"


# Notices about work still ahead: never sent once the work has started.
UPCOMING_KINDS = frozenset({NoticeKind.ADVANCE, NoticeKind.REMINDER, NoticeKind.CHANGED})
CHANGE_KINDS = frozenset({NoticeKind.CHANGED, NoticeKind.EXTENDED})
# The kinds whose text is stated against what its recipient was last told (a delivery's
# told_revision; NEVER_TOLD for a contact no notice of the outage has reached).
TOLD_KINDS = CHANGE_KINDS | {NoticeKind.CANCELLED}
NEVER_TOLD = 0  # revisions start at 1


class NoticeState(StrEnum):
    PENDING = "pending"  # planned, not yet due
    EXPANDED = "expanded"  # recipients matched, deliveries written
    SUPERSEDED = "superseded"  # the outage changed before it fell due
    EXPIRED = "expired"  # fell due after its deadline (the work had started)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


FINAL_DELIVERY_STATES = frozenset(
    {
        DeliveryState.DELIVERED,
        DeliveryState.UNDELIVERED,
        DeliveryState.FAILED,
        DeliveryState.SKIPPED,
        DeliveryState.EXPIRED,
        DeliveryState.SUPERSEDED,
    }
)


class SubscriberStatus(StrEnum):
    PENDING = "pending"  # asked for on the web, not confirmed yet
    ACTIVE = "active"  # confirmed (or texted SUB): gets the area's notices
    UNSUBSCRIBED = "unsubscribed"


# Where a subscription may go from each status: ask again, confirm, end.
SUBSCRIBER_MOVES: dict[str, frozenset[str]] = {
    SubscriberStatus.PENDING: frozenset(SubscriberStatus),
    SubscriberStatus.ACTIVE: frozenset({SubscriberStatus.UNSUBSCRIBED}),
    SubscriberStatus.UNSUBSCRIBED: frozenset({SubscriberStatus.PENDING, SubscriberStatus.ACTIVE}),
}
