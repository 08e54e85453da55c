"""Errors a planner can act on. The CLI prints their message and exits 1, no traceback."""

from __future__ import annotations


class OutageNotifyError(Exception):
    """A domain error with a message written for the person at the keyboard."""


class SettingsError(OutageNotifyError):
    """A bad or unknown configuration key; the message names the key."""


class InputError(OutageNotifyError):
    """Input from outside (a file, a flag, a form) was rejected; nothing was written."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(OutageNotifyError):
    """The outage, customer or area named does not exist."""
