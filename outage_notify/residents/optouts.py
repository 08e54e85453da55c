"""Opt-outs: an address that must not receive a channel, whatever account it belongs to.

Recorded from an SMS STOP, a one-click email unsubscribe, a planner's command, the web or a
provider's report. The dispatcher checks them immediately before every send.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, select

from outage_notify import audit, registry
from outage_notify.models import OptOut

SOURCES = ("sms", "email", "voice", "planner", "web", "provider")


def opt_out(
    session: Session,
    *,
    channel: str,
    address: str,
    source: str,
    actor: str,
    reason: str | None = None,
) -> bool:
    """Record an opt-out; returns False when the address had already opted out."""
    _check(channel, source)
    existing = session.exec(
        select(OptOut).where(OptOut.channel == channel, OptOut.address == address)
    ).first()
    if existing is not None:
        return False
    row = OptOut(channel=channel, address=address, source=source, reason=reason)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="opt_out",
        entity="opt_out",
        entity_id=row.id,
        after={"channel": channel, "source": source, "reason": reason},
    )
    return True


def opt_in(session: Session, *, channel: str, address: str, source: str, actor: str) -> bool:
    """Remove an opt-out; returns False when there was none."""
    _check(channel, source)
    existing = session.exec(
        select(OptOut).where(OptOut.channel == channel, OptOut.address == address)
    ).first()
    if existing is None:
        return False
    before = {"channel": channel, "source": existing.source, "since": existing.created_at}
    session.exec(delete(OptOut).where(OptOut.id == existing.id))  # type: ignore[arg-type]
    audit.record(
        session,
        actor=actor,
        action="opt_in",
        entity="opt_out",
        entity_id=existing.id,
        before=before,
        after={"source": source},
    )
    return True


def is_opted_out(session: Session, channel: str, address: str) -> bool:
    return (
        session.exec(
            select(OptOut.id).where(OptOut.channel == channel, OptOut.address == address)
        ).first()
        is not None
    )


def opted_out(session: Session, channel: str, addresses: Iterable[str]) -> set[str]:
    """The subset of ``addresses`` that opted out of ``channel`` (batched for large sets)."""
    wanted = list(dict.fromkeys(addresses))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.exec(
            select(OptOut.address).where(OptOut.channel == channel, OptOut.address.in_(chunk))  # type: ignore[attr-defined]
        ).all()
        found.update(rows)
    return found


def _check(channel: str, source: str) -> None:
    if channel not in registry.CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown opt-out source {source!r}")
