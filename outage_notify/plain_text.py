"""One rule for text that comes in, at every entry point: no control characters.

NUL and the other C0 controls (and DEL) belong in no title, reason, area code, contact or
webhook field; PostgreSQL refuses NUL in text outright, so without one rule the same input
was a 500 there and stored as is on SQLite. Tabs and line breaks are text (an address or a
description may span lines). Each entry point turns a hit into its own refusal: a rejected
CSV row, a 422 problem from the API, a form error, a 400 to a webhook.
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(*values: str | None) -> bool:
    """True when any of the values holds a control character (None counts as empty)."""
    return any(value and CONTROL_CHARACTERS.search(value) for value in values)


def control_character_problem(name: str, value: str | None) -> str | None:
    """``"<name> contains a control character"`` when it does, else None."""
    return f"{name} contains a control character" if has_control_characters(value) else None
