"""Errors a planner can act on. The CLI prints their message and exits 1, no traceback."""

from __future__ import annotations


class OutageNotifyError(Exception):
    """A domain error with a message written for the person at the keyboard."""


class SettingsError(OutageNotifyError):
    """A bad or unknown configuration key; the message names the key."""


class Problem(str):
    """One problem with some input, as words a planner reads, that also names the field it is
    about (``start``, ``areas``, ...) so the REST API can point at it.

    It is a ``str`` everywhere else: the CLI prints it and the import prefixes it with a line
    number. ``conflict`` marks a problem with the outage's state rather than with the input
    (a cancelled outage cannot be rescheduled): HTTP 409 rather than 422.
    """

    field: str | None
    conflict: bool

    def __new__(cls, text: str, field: str | None = None, *, conflict: bool = False) -> Problem:
        problem = super().__new__(cls, text)
        problem.field = field
        problem.conflict = conflict
        return problem


class InputError(OutageNotifyError):
    """Input from outside (a file, a flag, a form) was rejected; nothing was written."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConflictError(InputError):
    """The change does not fit the current state (the outage was cancelled, or has started)."""


class NotFoundError(OutageNotifyError):
    """The outage, customer or area named does not exist."""


def rejected(message: str, problems: list[str]) -> InputError:
    """InputError, or ConflictError when a problem is about the state rather than the input."""
    if any(getattr(p, "conflict", False) for p in problems):
        return ConflictError(message, problems=problems)
    return InputError(message, problems=problems)
