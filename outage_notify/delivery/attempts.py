"""What the dispatcher works with: a claimed delivery, what became of a send, when to retry.

Small value types shared by the dispatcher, the per-channel fan-out and crash recovery.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from channels.base import ChannelError, Message
from outage_notify import registry
from outage_notify.delivery.outbox import ExpansionSummary
from outage_notify.models import UPCOMING_KINDS, Delivery, Notice

# Errors after which the provider may hold the message anyway (the request may have arrived).
AMBIGUOUS_CODES = frozenset({"timeout", "unexpected"})
# Provider clocks differ from ours; look a little before the claim.
LOOKUP_SKEW = timedelta(minutes=2)


def lookup_of(channel: Any, name: str) -> Any:
    """``channel.lookup`` where the registry says the channel can be asked after a timeout
    whether it already has a message; None where it cannot."""
    if not registry.spec(name).can_lookup:
        return None
    return getattr(channel, "lookup", None)


def new_worker_id() -> str:
    """``host:pid:token``: recovery tells a dead local process's claims from a live one's."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    notice_id: int
    outage_id: int
    kind: str
    channel: str
    address: str
    language: str
    customer_id: int | None
    subscriber_id: int | None
    attempts: int  # including this one
    due_at: datetime  # when the notice was due on this channel
    deadline: datetime
    claimed_by: str
    claimed_at: datetime
    told_revision: int | None = None  # a change notice: what this contact was last told

    @property
    def recipient_id(self) -> str:
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"subscriber:{self.subscriber_id}"

    @property
    def valid_until(self) -> datetime | None:
        return self.deadline if self.kind in UPCOMING_KINDS else None


def claimed_from(delivery: Delivery, notice: Notice, now: datetime) -> ClaimedDelivery:
    """A delivery row left ``sending`` as the claim it was (crash recovery, lookups)."""
    assert delivery.id is not None
    return ClaimedDelivery(
        id=delivery.id,
        notice_id=notice.id or 0,
        outage_id=notice.outage_id,
        kind=notice.kind,
        channel=delivery.channel,
        address=delivery.address,
        language=delivery.language,
        customer_id=delivery.customer_id,
        subscriber_id=delivery.subscriber_id,
        attempts=delivery.attempts,
        due_at=getattr(notice, registry.spec(delivery.channel).due_column),
        deadline=delivery.deadline,
        claimed_by=delivery.claimed_by or "",
        claimed_at=delivery.claimed_at or now,
        told_revision=delivery.told_revision,
    )


@dataclass(frozen=True)
class Attempt:
    """What became of one send, before it is written to the ledger."""

    claimed: ClaimedDelivery
    outcome: str  # sent | delivered | retry | failed
    at: datetime
    values: dict[str, Any]  # the Delivery columns to set
    error: ChannelError | None = None
    provider_id: str | None = None


class Composer(Protocol):
    """Renders the message of a claimed delivery (``compose.NoticeComposer`` in production)."""

    def compose(self, delivery: ClaimedDelivery) -> Message: ...


@dataclass
class Backoff:
    """When to try again after a transient error.

    The provider's ``Retry-After`` is followed when it gives one (a tenth of it again at most,
    as jitter, so retries do not arrive in lock-step, but never sooner). Otherwise the delay
    grows exponentially with jitter, from ``base`` up to ``cap`` seconds.
    """

    base: float = 10.0
    factor: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after * (1 + self.rng.uniform(0, 0.1))
        ceiling = min(self.cap, self.base * self.factor ** max(attempts - 1, 0))
        # "Equal jitter": half fixed, half random, so retries spread without collapsing to 0.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


@dataclass
class DispatchSummary:
    expansion: ExpansionSummary = field(default_factory=ExpansionSummary)
    expired: int = 0
    results: Counter[str] = field(default_factory=Counter)  # "sms/sent", "email/retry", ...
    more: bool = False  # the pass ended on its time budget with work left

    def as_dict(self) -> dict[str, Any]:
        return {
            "notices_expanded": self.expansion.notices,
            "deliveries_created": self.expansion.deliveries,
            "skipped_at_expansion": self.expansion.skipped,
            "notices_expired": self.expansion.expired_notices,
            "notices_late": self.expansion.late_notices,
            "deliveries_expired": self.expired,
            "results": dict(sorted(self.results.items())),
        }
