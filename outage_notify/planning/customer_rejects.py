"""The rejects file of a customer import: each rejected row as it was, line and reason first.

Fix the rows in it and import it again: the annotation columns are ignored on the way in.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from pathlib import Path

from outage_notify.errors import InputError
from outage_notify.planning.customer_rows import ANNOTATION_COLUMNS


def rejects_path(path: Path) -> Path:
    """``customers.csv`` -> ``customers.rejected.csv``, next to the input."""
    return path.with_name(f"{path.stem}.rejected.csv")


class Rejects:
    """The rejected rows, as they were, with line and reason first; published on success.

    Written to a hidden file beside the target, so publishing is one rename on the same
    file system (the system's temporary directory may be another)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            self.handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by publish/close)
                "w",
                encoding="utf-8",
                newline="",
                dir=target.parent,
                prefix=f".{target.name}.",
                suffix=".tmp",
                delete=False,
            )
        except OSError as exc:
            raise InputError(
                f"cannot write the rejected rows next to the input ({target.parent}): "
                f"{exc.strerror}"
            ) from None
        self.writer = csv.writer(self.handle)
        self.keep: list[int] = []
        self.width = 0

    def start(self, header: list[str]) -> None:
        self.keep = [i for i, column in enumerate(header) if column not in ANNOTATION_COLUMNS]
        self.width = len(header)
        self.writer.writerow([*ANNOTATION_COLUMNS, *(header[i] for i in self.keep)])

    def add(self, line: int, record: Sequence[str], reasons: list[str]) -> None:
        kept = [record[i] for i in self.keep if i < len(record)]
        self.writer.writerow([line, "; ".join(reasons), *kept, *record[self.width :]])

    def publish(self) -> Path:
        self.handle.close()
        Path(self.handle.name).replace(self.target)
        return self.target

    def close(self) -> None:
        self.handle.close()
        Path(self.handle.name).unlink(missing_ok=True)  # gone already when published
