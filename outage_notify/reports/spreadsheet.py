"""CSV that is safe to open in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that begins with ``=``, ``+``, ``-`` or ``@``
as a formula (a tab or carriage return in front of one is skipped by some of them), so a
customer named ``=HYPERLINK("http://evil.example", "click")`` would run when a planner opens
the door-hanger list. Every such text cell gets a leading ``'`` (OWASP's advice), which the
spreadsheet shows as text. E.164 phone numbers begin with ``+``, so they are neutralised too:
``'+8613800000000``. Numbers are written as numbers and left alone: a spreadsheet reads
``-1.5`` as a value, never as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``'`` in front of text a spreadsheet would read as a formula; other text unchanged."""
    # Leading spaces or line breaks do not stop every spreadsheet from seeing the formula.
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip(" \n").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def cell(value: object) -> str | int | float:
    """One CSV cell: text neutralised, numbers kept, None empty, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a header and the rows, every cell through :func:`cell`; returns the row count."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        count += 1
    return count
