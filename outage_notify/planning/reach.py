"""Which channels a customer is reached on: their chosen channels, as far as they have a
contact for them.

Billing exports drift: ``channels`` may say ``sms;email`` for a customer with no email address,
or ``email`` for one with only a phone. A missed resident is worse than an extra notice, so
such a customer is imported and reached on what they can be reached on:

- the chosen channels they have a contact for;
- when none of the chosen channels has a contact, every channel they do have a contact for
  (the *fallback*, counted by the import and shown in the coverage report);
- an empty ``channels``: every channel they have a contact for, as before.

The preference is stored as given, so a contact added later is used without a new import of
the preference. Targeting, the coverage report and the import summary all ask this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from outage_notify import registry


def contacts_of(record: Any) -> dict[str, str | None]:
    """{channel: address} of anything with the Customer contact columns as attributes (a
    Customer, an imported row), for every registered channel in registry order."""
    return {name: getattr(record, spec.contact) for name, spec in registry.CHANNELS.items()}


@dataclass(frozen=True)
class Reach:
    channels: tuple[str, ...]  # the channels notices go out on, in order
    missing: tuple[str, ...] = ()  # chosen channels the customer has no contact for
    fallback: bool = False  # none of the chosen had a contact: every channel with one

    @property
    def drifted(self) -> bool:
        """The preference names a channel the customer has no contact for."""
        return bool(self.missing)


def reach(
    chosen: str, contacts: Mapping[str, str | None], flags: Mapping[str, bool] | None = None
) -> Reach:
    """The channels to use for a customer whose ``channels`` column is ``chosen``, by the
    registry's rule (``registry.wanted``: channels offered by default, a landline's SMS
    becoming a call); ``flags`` are the Customer columns a stand-in looks at."""
    flags = flags or {}
    has = {c: bool(address) for c, address in contacts.items()}
    present = tuple(registry.wanted("", has, flags))
    if not chosen:
        return Reach(present)
    wanted = {c for c in chosen.split(";") if c}
    asked = [c for c in contacts if c in wanted]
    usable = ";".join(c for c in asked if has[c])
    missing = tuple(c for c in asked if not has[c])
    if usable:
        return Reach(tuple(registry.wanted(usable, has, flags)), missing)
    return Reach(present, missing, fallback=bool(present))
