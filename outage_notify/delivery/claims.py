"""The dispatcher's SQL, built once: claiming a delivery and writing its result.

These run for every message of every fan-out, so they are Core statements compiled once and
executed with parameters, not ORM queries rebuilt per call (which cost more than the send).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Update, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from outage_notify.db import UTCDateTime
from outage_notify.models import Customer, Delivery, DeliveryState, Notice, OptOut

DELIVERY = Delivery.__table__  # type: ignore[attr-defined]
NOTICE = Notice.__table__  # type: ignore[attr-defined]
OPT_OUT = OptOut.__table__  # type: ignore[attr-defined]
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]

_TIME_COLUMNS = frozenset(c.name for c in DELIVERY.columns if isinstance(c.type, UTCDateTime))


def reserve_statement(*, skip_locked: bool) -> Update:
    """Reserve the next ``:k`` due deliveries of a channel for ``:worker``: still ``pending``,
    only ``claimed_by`` set; RETURNING what the sends need.

    A reservation sends nothing and counts nothing as in flight: the dispatcher marks a
    reserved delivery ``sending`` (``promote_statement``) only when it hands it to a sender.
    One left behind by a process that died is free again once it is older than ``:stale``
    (the lease), or at once when recovery sees its process is gone.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets processes reserve side by side; SQLite
    serialises writers with ``BEGIN IMMEDIATE``, so the subquery needs no lock there.
    """
    now = bindparam("now", type_=UTCDateTime())
    due = (
        select(DELIVERY.c.id)
        .where(
            DELIVERY.c.channel == bindparam("b_channel"),
            DELIVERY.c.state == DeliveryState.PENDING.value,
            DELIVERY.c.next_attempt_at <= now,
            DELIVERY.c.deadline > now,
            or_(
                DELIVERY.c.claimed_by.is_(None),
                DELIVERY.c.claimed_at < bindparam("stale", type_=UTCDateTime()),
            ),
        )
        .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id)
        .limit(bindparam("k"))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(due))
        .values(claimed_by=bindparam("worker"), claimed_at=now, updated_at=now)
        .returning(
            DELIVERY.c.id,
            DELIVERY.c.notice_id,
            DELIVERY.c.channel,
            DELIVERY.c.address,
            DELIVERY.c.language,
            DELIVERY.c.customer_id,
            DELIVERY.c.subscriber_id,
            DELIVERY.c.attempts,
            DELIVERY.c.deadline,
            DELIVERY.c.told_revision,
        )
    )


def _reserved_by_worker() -> tuple[Any, ...]:
    return (
        DELIVERY.c.id.in_(bindparam("ids", expanding=True)),
        DELIVERY.c.state == DeliveryState.PENDING.value,
        DELIVERY.c.claimed_by == bindparam("worker"),
    )


@functools.cache
def promote_statement(invalid_flag: str) -> Update:
    """Mark reserved deliveries ``sending`` just before their sends; RETURNING the ids marked.

    In the same statement, the check just before a send: one whose address opted out or
    whose customer's contact was flagged ``invalid_flag`` since expansion is not marked, nor
    is one no longer ours, no longer pending (the outage changed), deferred (quiet hours)
    or past its deadline. The caller tells those apart only when some are missing.
    """
    now = bindparam("now", type_=UTCDateTime())
    opted_out = (
        select(OPT_OUT.c.id)
        .where(OPT_OUT.c.channel == DELIVERY.c.channel, OPT_OUT.c.address == DELIVERY.c.address)
        .exists()
    )
    invalid = (
        select(CUSTOMER.c.id)
        .where(CUSTOMER.c.id == DELIVERY.c.customer_id, CUSTOMER.c[invalid_flag].is_(True))
        .exists()
    )
    return (
        update(DELIVERY)
        .where(
            *_reserved_by_worker(),
            DELIVERY.c.next_attempt_at <= now,
            DELIVERY.c.deadline > now,
            ~opted_out,
            ~invalid,
        )
        .values(
            state=DeliveryState.SENDING.value,
            claimed_at=now,
            attempts=DELIVERY.c.attempts + 1,
            updated_at=now,
        )
        .returning(DELIVERY.c.id)
    )


# Reservations given back unsent (the pass ends, quiet hours began, the deadline passed).
RELEASE = (
    update(DELIVERY)
    .where(*_reserved_by_worker())
    .values(claimed_by=None, updated_at=bindparam("now", type_=UTCDateTime()))
)


# Quiet hours: pending deliveries on a channel they apply to (SMS) that can wait for the
# morning (their deadline is later) wait.
DEFER_QUIET = (
    update(DELIVERY)
    .where(
        DELIVERY.c.channel == bindparam("d_channel"),
        DELIVERY.c.state == DeliveryState.PENDING.value,
        DELIVERY.c.next_attempt_at <= bindparam("now", type_=UTCDateTime()),
        DELIVERY.c.deadline > bindparam("quiet_end", type_=UTCDateTime()),
    )
    .values(next_attempt_at=bindparam("quiet_end"), updated_at=bindparam("now"))
)

NOTICE_FACTS = select(
    NOTICE.c.outage_id, NOTICE.c.kind, NOTICE.c.due_at, NOTICE.c.sms_due_at
).where(NOTICE.c.id == bindparam("notice_id"))

# Just before a send: which of these addresses opted out, which contacts were flagged invalid?
OPTED_OUT_AMONG = select(OPT_OUT.c.address).where(
    OPT_OUT.c.channel == bindparam("channel"),
    OPT_OUT.c.address.in_(bindparam("addresses", expanding=True)),
)


@functools.cache
def invalid_among(flag: str) -> Select[Any]:
    """Which of these customers have Customer column ``flag`` (``phone_invalid``) set."""
    return select(CUSTOMER.c.id).where(
        CUSTOMER.c.id.in_(bindparam("ids", expanding=True)), CUSTOMER.c[flag].is_(True)
    )


class Finisher:
    """``UPDATE delivery SET ... WHERE id = ? AND state = 'sending' AND claimed_by = ?``.

    Only while the delivery is still ours: a status callback may already have moved it on.
    One statement per set of columns, made on first use. ``from_state`` pending: settle a
    reservation (skipped just before its send) instead of a send.
    """

    def __init__(self, from_state: DeliveryState = DeliveryState.SENDING) -> None:
        self.from_state = from_state.value
        self._statements: dict[tuple[str, ...], Update] = {}

    def statement(self, columns: Iterable[str]) -> Update:
        key = tuple(sorted(columns))
        statement = self._statements.get(key)
        if statement is None:
            values = {
                name: bindparam(f"v_{name}", type_=UTCDateTime() if name in _TIME_COLUMNS else None)
                for name in key
            }
            statement = (
                update(DELIVERY)
                .where(
                    DELIVERY.c.id == bindparam("delivery_id"),
                    DELIVERY.c.state == self.from_state,
                    DELIVERY.c.claimed_by == bindparam("worker"),
                )
                .values(values)
            )
            self._statements[key] = statement
        return statement

    def finish(
        self, connection: Connection, delivery_id: int, worker: str, now: datetime, **values: Any
    ) -> None:
        self.finish_many(connection, [(delivery_id, worker, now, values)])

    def finish_many(
        self,
        connection: Connection,
        rows: Iterable[tuple[int, str, datetime, dict[str, Any]]],
    ) -> None:
        """Several results in one go: one executemany per set of columns."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for delivery_id, worker, now, values in rows:
            values = {**values, "updated_at": now}
            parameters = {f"v_{name}": value for name, value in values.items()}
            groups.setdefault(tuple(sorted(values)), []).append(
                {"delivery_id": delivery_id, "worker": worker, **parameters}
            )
        for columns, parameters_list in groups.items():
            connection.execute(self.statement(columns), parameters_list)

    def finish_each(
        self,
        connection: Connection,
        rows: Iterable[tuple[int, str, datetime, dict[str, Any]]],
    ) -> int:
        """Like ``finish_many``, one statement a row: returns how many were still ours (the
        rare path, where a driver's executemany row count would not be trusted)."""
        done = 0
        for delivery_id, worker, now, values in rows:
            values = {**values, "updated_at": now}
            parameters = {f"v_{name}": value for name, value in values.items()}
            result = connection.execute(
                self.statement(values), {"delivery_id": delivery_id, "worker": worker, **parameters}
            )
            done += int(result.rowcount or 0)
        return done
