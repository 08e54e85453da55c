"""The door-knock list emailed to dispatch (``critical.dispatch_email``) when it is made.

One email per ladder step that lists premises: each critical customer the notice and the
call did not get an acknowledgement from, with the address, the phone and the time left
before the work starts. Sent after the ladder's transaction, never inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from channels.base import ChannelError, Message, PushChannel
from outage_notify.db import Database
from outage_notify.delivery.escalation import time_left
from outage_notify.errors import SettingsError
from outage_notify.models import Customer, Escalation, Outage

log = logging.getLogger(__name__)

DispatchSender = Callable[[list[Escalation], datetime], bool]


def dispatch_message(
    database: Database,
    escalations: list[Escalation],
    *,
    address: str,
    zone: ZoneInfo,
    now: datetime,
) -> Message:
    """The plain-text list, grouped by outage, soonest work first."""
    with database.read() as session:
        customers = {
            c.id: c
            for c in session.exec(
                select(Customer).where(col(Customer.id).in_([e.customer_id for e in escalations]))
            ).all()
        }
        outages = {
            o.id: o
            for o in session.exec(
                select(Outage).where(col(Outage.id).in_({e.outage_id for e in escalations}))
            ).all()
        }
    lines = [
        "Critical-needs customers to visit before the work starts:",
        "no acknowledgement by SMS or by phone.",
        "",
    ]
    for outage_id in sorted(outages, key=lambda i: outages[i].start_at):
        outage = outages[outage_id]
        start = outage.start_at.astimezone(zone)
        lines.append(
            f"Outage {outage_id} ({outage.utility}, {outage.title}): "
            f"starts {start:%Y-%m-%d %H:%M}, {time_left(outage.start_at, now)} from now"
        )
        for escalation in escalations:
            if escalation.outage_id != outage_id:
                continue
            c = customers[escalation.customer_id]
            lines.append(f"- {c.account_id} {c.name}: {c.address or '-'}; phone {c.phone or '-'}")
        lines.append("")
    return Message(
        delivery_id=0,  # not a Delivery: a message to the utility's own staff
        recipient_id="dispatch",
        address=address,
        language="en",
        subject=f"Door-knock list: {len(escalations)} critical-needs customers",
        text="\n".join(lines),
    )


def dispatch_sender(
    database: Database, *, address: str, zone: ZoneInfo, channel: Callable[[], PushChannel]
) -> DispatchSender:
    """Email the list through a fresh backend; False (logged) when it did not go."""

    def send(escalations: list[Escalation], now: datetime) -> bool:
        message = dispatch_message(database, escalations, address=address, zone=zone, now=now)
        try:
            backend = channel()
        except SettingsError as error:
            log.error("door-knock list not emailed: %s", error)
            return False
        try:
            backend.send(message)
        except ChannelError as error:
            log.warning("door-knock list not emailed: %s (%s)", error.reason, error.code)
            return False
        finally:
            backend.close()
        log.info("door-knock list emailed", extra={"premises": len(escalations)})
        return True

    return send
