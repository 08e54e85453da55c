"""The states and kinds the tables hold, as enums (re-exported by ``outage_notify.models``,
where code imports them from)."""

from __future__ import annotations

from enum import StrEnum


class Utility(StrEnum):
    WATER = "water"
    GAS = "gas"


class OutageStatus(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"
    RESTORED = "restored"


class NoticeKind(StrEnum):
    ADVANCE = "advance"  # the first notice of upcoming work (also the critical-lead one)
    REMINDER = "reminder"  # later lead times before the start
    CHANGED = "changed"  # rescheduled
    EXTENDED = "extended"
    CANCELLED = "cancelled"
    RESTORED = "restored"


# Notices about work still ahead: never sent once the work has started.
UPCOMING_KINDS = frozenset({NoticeKind.ADVANCE, NoticeKind.REMINDER, NoticeKind.CHANGED})


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


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
