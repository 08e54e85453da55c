"""A dispatcher's claims on the outbox in two steps: reserve a batch, mark sends one by one.

Reserving takes a batch of due deliveries for this worker (``claimed_by`` set, still
``pending``): one query, its cost shared by the whole batch. Promoting marks the few a
ledger hands to idle senders ``sending``, after the opt-out and contact check, in the same
transaction that writes the senders' last results. So a batch can be as large as the rate
asks while at most ``concurrency`` deliveries are ever ``sending``: what a crash leaves
reserved was never handed to anyone and is simply pending again (see ``recovery``).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from outage_notify import registry
from outage_notify.delivery import claims
from outage_notify.delivery.attempts import ClaimedDelivery
from outage_notify.delivery.recovery import LEASE
from outage_notify.models import DeliveryState

log = logging.getLogger(__name__)


class Reservations:
    """The SQL side of one worker's claims; safe to share by its channels' ledger threads."""

    def __init__(self, worker_id: str, *, skip_locked: bool) -> None:
        self.worker_id = worker_id
        self._reserve = claims.reserve_statement(skip_locked=skip_locked)
        self._skipper = claims.Finisher(DeliveryState.PENDING)
        self._notices: dict[int, dict[str, Any]] = {}

    def reserve(
        self, connection: Connection, channel: str, now: datetime, k: int
    ) -> list[ClaimedDelivery]:
        """Reserve up to ``k`` due deliveries of ``channel`` in the caller's transaction."""
        if k <= 0:
            return []
        rows = connection.execute(
            self._reserve,
            {
                "b_channel": channel,
                "now": now,
                "stale": now - LEASE,
                "worker": self.worker_id,
                "k": k,
            },
        ).all()
        return [self._claimed(connection, channel, row, now) for row in rows]

    def promote(
        self, connection: Connection, channel: str, now: datetime, wanted: list[ClaimedDelivery]
    ) -> tuple[list[ClaimedDelivery], int]:
        """Mark reserved deliveries ``sending`` in the caller's transaction, just before their
        sends; returns those marked and how many were skipped instead.

        One opted out or with a contact flagged invalid since expansion is marked skipped
        (checked here, so a STOP that arrives mid fan-out stops the rest); one the outage's
        change superseded, that quiet hours deferred or whose deadline passed is given back.
        """
        if not wanted:
            return [], 0
        spec = registry.spec(channel)
        marked = set(
            connection.execute(
                claims.promote_statement(spec.invalid_flag),
                {"ids": [c.id for c in wanted], "worker": self.worker_id, "now": now},
            ).scalars()
        )
        send = [dataclasses.replace(c, claimed_at=now) for c in wanted if c.id in marked]
        missing = [c for c in wanted if c.id not in marked]
        return send, self._settle_missing(connection, channel, now, missing) if missing else 0

    def release(self, connection: Connection, ids: list[int], now: datetime) -> None:
        """Give reservations back: pending for anyone again (no-op for those moved on)."""
        if ids:
            connection.execute(claims.RELEASE, {"ids": ids, "worker": self.worker_id, "now": now})

    def _settle_missing(
        self, connection: Connection, channel: str, now: datetime, missing: list[ClaimedDelivery]
    ) -> int:
        opted_out = set(
            connection.execute(
                claims.OPTED_OUT_AMONG,
                {"channel": channel, "addresses": [c.address for c in missing]},
            ).scalars()
        )
        customer_ids = [c.customer_id for c in missing if c.customer_id is not None]
        invalid = set(
            connection.execute(
                claims.invalid_among(registry.spec(channel).invalid_flag), {"ids": customer_ids}
            ).scalars()
            if customer_ids
            else ()
        )
        skip, rest = [], []
        for claimed in missing:
            reason = (
                "opted_out"
                if claimed.address in opted_out
                else "invalid_contact"
                if claimed.customer_id in invalid
                else None
            )
            if reason is None:
                rest.append(claimed.id)
                continue
            skip.append(
                (claimed.id, self.worker_id, now, {"state": DeliveryState.SKIPPED, "error": reason})
            )
            log.info(
                "delivery skipped",
                extra={
                    "delivery_id": claimed.id,
                    "recipient": claimed.recipient_id,
                    "reason": reason,
                },
            )
        # Only those still ours and pending: a superseded one stays superseded.
        skipped = self._skipper.finish_each(connection, skip)
        self.release(connection, rest, now)
        return skipped

    def _claimed(
        self, connection: Connection, channel: str, row: Any, now: datetime
    ) -> ClaimedDelivery:
        facts = self._notice_facts(connection, row.notice_id)
        return ClaimedDelivery(
            id=row.id,
            notice_id=row.notice_id,
            outage_id=facts["outage_id"],
            kind=facts["kind"],
            channel=row.channel,
            address=row.address,
            language=row.language,
            customer_id=row.customer_id,
            subscriber_id=row.subscriber_id,
            attempts=row.attempts + 1,  # counted when it is marked sending
            due_at=facts[registry.spec(channel).due_column],
            deadline=row.deadline,
            claimed_by=self.worker_id,
            claimed_at=now,
            told_revision=row.told_revision,
        )

    def _notice_facts(self, connection: Connection, notice_id: int) -> dict[str, Any]:
        # What a notice says about timing never changes once it exists: read it once.
        facts = self._notices.get(notice_id)
        if facts is None:
            row = connection.execute(claims.NOTICE_FACTS, {"notice_id": notice_id}).one()
            facts = dict(row._mapping)
            self._notices[notice_id] = facts
        return facts
