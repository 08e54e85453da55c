"""Reading a customers CSV: the file opened as UTF-8 records, its header checked, each record
with the line it starts on (see planning/customer_import.py for the import itself)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from outage_notify.errors import InputError
from outage_notify.planning.customer_rows import ANNOTATION_COLUMNS, COLUMNS


@contextmanager
def records(path: Path) -> Iterator[tuple[BinaryIO, Any]]:
    try:
        binary = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None
    with binary:
        # utf-8-sig drops a byte-order mark; newline="" lets csv see CRLF and quoted newlines.
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        yield binary, csv.reader(text, strict=True)


def header(first: list[str] | None, path: Path) -> list[str]:
    if not first:
        raise InputError(f"{path} is empty: the first row must be the header ({','.join(COLUMNS)})")
    header = [column.strip().lower() for column in first]
    known = set(COLUMNS) | set(ANNOTATION_COLUMNS)
    unknown = [c for c in header if c not in known]
    if unknown:
        raise InputError(
            f"{path}: unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            f"the columns are {','.join(COLUMNS)}"
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {', '.join(repeated)} appear more than once")
    if "account_id" not in header:
        raise InputError(f"{path}: the header has no account_id column")
    if "phone" not in header and "email" not in header:
        raise InputError(f"{path}: the header needs a phone or an email column")
    return header


class Lines:
    """The records of a csv reader with the line each starts on, blank ones skipped."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.line = 1

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        ended = self.reader.line_num
        for record in self.reader:
            self.line, ended = ended + 1, self.reader.line_num
            if any(field.strip() for field in record):
                yield self.line, record
            # else: a blank line or a row of empty cells, as spreadsheets leave
