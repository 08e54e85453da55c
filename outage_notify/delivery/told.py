"""What each recipient of a change notice was last told about its outage.

A change notice states the change against what its recipient has: "now Fri 11 Dec, was Thu
10 Dec" to a contact last told Thursday, "extended, was until Fri 12:00" to one already told
Friday, and a plain new notice to one never told (a customer who moved in since); a
cancellation names the times they had ("the shutoff planned for Thu 10 Dec is cancelled"). That is
the revision of the newest notice of the outage that reached the contact (sent or delivered,
on any channel: an SMS and a call to one phone reach one person), looked up per chunk of
recipients as the outbox writes them, so an expansion's memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from outage_notify.models import NEVER_TOLD, TOLD_KINDS, Delivery, Notice, NoticeState
from outage_notify.planning.targeting import NOTIFIED_STATES

_DELIVERY = Delivery.__table__  # type: ignore[attr-defined]


def _told_among(*, literal: bool) -> Select[Any]:
    return core_select(_DELIVERY.c.address, _DELIVERY.c.notice_id).where(
        _DELIVERY.c.notice_id.in_(bindparam("notices", expanding=True, literal_execute=literal)),
        _DELIVERY.c.address.in_(bindparam("addresses", expanding=True, literal_execute=literal)),
        _DELIVERY.c.state.in_([s.value for s in NOTIFIED_STATES]),
    )


# On PostgreSQL the lists are written into the SQL, not bound: psycopg prepares a statement
# run five times, and from the tenth run PostgreSQL may switch to a generic plan that cannot
# probe the UNIQUE (notice_id, address, channel) index with an IN list it does not know; that
# plan filtered every row of the earlier notices per chunk (0.05 s a chunk became 9 s).
_TOLD_AMONG = {True: _told_among(literal=True), False: _told_among(literal=False)}


class LastTold:
    """The revision each address was last told before ``notice``'s, for one expansion."""

    def __init__(self, session: Session, notice: Notice) -> None:
        self._session = session
        self.applies = notice.kind in TOLD_KINDS
        rows = (
            session.exec(
                select(Notice.id, Notice.revision).where(
                    col(Notice.outage_id) == notice.outage_id,
                    col(Notice.revision) < notice.revision,
                    col(Notice.state) == NoticeState.EXPANDED,
                )
            ).all()
            if self.applies
            else []
        )
        # Only notices that went out have deliveries: a handful per outage.
        self._revision_of: dict[int, int] = {int(i): int(r) for i, r in rows if i is not None}

    def revisions(self, addresses: Iterable[str]) -> dict[str, int]:
        """``{address: revision}`` for the addresses a notice reached; the others were never
        told (:data:`NEVER_TOLD`)."""
        if not self._revision_of:  # not a change notice, or nothing of the outage went out
            return {}
        wanted = list(dict.fromkeys(addresses))
        if not wanted:
            return {}
        told: dict[str, int] = {}
        connection = self._session.connection()
        statement = _TOLD_AMONG[connection.dialect.name == "postgresql"]
        rows = connection.execute(
            statement, {"notices": list(self._revision_of), "addresses": wanted}
        )
        for address, notice_id in rows:
            revision = self._revision_of[notice_id]
            if revision > told.get(address, NEVER_TOLD):
                told[address] = revision
        return told

    def of(self, told: dict[str, int], address: str) -> int | None:
        """What the row for ``address`` stores: None where the kind does not depend on it."""
        return told.get(address, NEVER_TOLD) if self.applies else None
