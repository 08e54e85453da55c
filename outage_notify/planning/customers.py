"""Customers: looking them up, and planners' opt-outs on their behalf.

The import itself is in :mod:`outage_notify.planning.customer_import`; row checks in
:mod:`outage_notify.planning.customer_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from outage_notify import registry
from outage_notify.contacts import ContactError, normalise_email, normalise_phone
from outage_notify.errors import InputError, NotFoundError
from outage_notify.models import Customer, OptOut
from outage_notify.residents import optouts
from outage_notify.settings import Settings


def _a(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _contacts(customer: Customer) -> dict[str, str | None]:
    """{channel: the customer's address on it} for every registered channel."""
    return {name: getattr(customer, spec.contact) for name, spec in registry.CHANNELS.items()}


def find_customer(session: Session, account_id: str) -> Customer:
    customer = session.exec(select(Customer).where(Customer.account_id == account_id)).first()
    if customer is None:
        raise NotFoundError(f"no customer with account_id {account_id!r}")
    return customer


def _filtered(query: Any, area: str | None, critical: bool | None) -> Any:
    if area is not None:
        query = query.where(or_(Customer.water_area == area, Customer.gas_area == area))
    if critical is not None:
        query = query.where(Customer.critical == critical)
    return query


def list_customers(
    session: Session,
    *,
    area: str | None = None,
    critical: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Customer]:
    query = _filtered(select(Customer), area, critical).order_by(col(Customer.account_id))
    return list(session.exec(query.offset(offset).limit(limit)).all())


def count_customers(
    session: Session, *, area: str | None = None, critical: bool | None = None
) -> int:
    return int(
        session.exec(_filtered(select(func.count()).select_from(Customer), area, critical)).one()
    )


def customer_opt_outs(session: Session, customer: Customer) -> list[str]:
    """The channels on which this customer's contacts opted out."""
    clauses = [
        (col(OptOut.channel) == channel) & (col(OptOut.address) == address)
        for channel, address in _contacts(customer).items()
        if address
    ]
    if not clauses:
        return []
    rows = session.exec(select(OptOut.channel).where(or_(*clauses))).all()
    return sorted(set(rows))


def describe_customer(customer: Customer, opted_out: list[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: getattr(customer, key)
        for key in (
            "account_id",
            "name",
            "phone",
            "email",
            "language",
            "address",
            "latitude",
            "longitude",
            "water_area",
            "gas_area",
            "channels",
            "critical",
            "phone_invalid",
            "email_invalid",
            "created_at",
            "updated_at",
        )
    }
    if opted_out is not None:
        data["opted_out"] = opted_out
    return data


@dataclass(frozen=True)
class OptOutChange:
    channel: str
    address: str
    account_id: str | None
    changed: bool  # False: it was already so


def _targets(
    session: Session, target: str, channels: list[str], settings: Settings
) -> tuple[str | None, list[tuple[str, str]]]:
    """(account_id or None, [(channel, address)]) named by an account, phone or email."""
    text = target.strip()
    customer = session.exec(select(Customer).where(Customer.account_id == text)).first()
    if customer is not None:
        contacts = _contacts(customer)
        has_contact = {c: bool(address) for c, address in contacts.items()}
        flags = {"landline": customer.landline}
        wanted = channels or registry.with_contact(customer.channels, has_contact, flags)
        missing = [c for c in wanted if not contacts[c]]
        if missing:
            what = registry.spec(missing[0]).contact
            raise InputError(
                f"account {text} has no {what}, so nothing to opt out of on {missing[0]}"
            )
        return text, [(c, contacts[c] or "") for c in wanted]
    contact = "email" if "@" in text else "phone"
    kinds = [name for name, spec in registry.CHANNELS.items() if spec.contact == contact]
    what = _a(registry.spec(kinds[0]).contact_words)
    try:
        address = (
            normalise_email(text)
            if contact == "email"
            else normalise_phone(text, settings.default_region)
        )
    except ContactError as exc:
        raise NotFoundError(
            f"{target!r} is no customer's account_id, and as {what} it is {exc}"
        ) from None
    if channels and not set(channels) <= set(kinds):
        raise InputError(
            f"{what} can only opt out of {' or '.join(kinds)}; use --channel {kinds[0]}"
        )
    return None, [(kind, address) for kind in channels or kinds[:1]]


def set_opted_out(
    session: Session,
    target: str,
    *,
    opted_out: bool,
    channels: list[str],
    settings: Settings,
    actor: str,
    reason: str | None = None,
) -> list[OptOutChange]:
    """Opt an account's contacts, or a phone or email, out of (or back into) channels.

    Recorded with source ``planner`` and audited. ``channels`` empty: every channel the
    account has a contact for (a phone means sms, an email means email).
    """
    account_id, targets = _targets(session, target, channels, settings)
    changes = []
    for channel, address in targets:
        if opted_out:
            changed = optouts.opt_out(
                session,
                channel=channel,
                address=address,
                source="planner",
                actor=actor,
                reason=reason,
            )
        else:
            changed = optouts.opt_in(
                session, channel=channel, address=address, source="planner", actor=actor
            )
        changes.append(OptOutChange(channel, address, account_id, changed))
    return changes
