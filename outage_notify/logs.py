"""Structured logs: one JSON object per line for the daemon, readable text for commands.

Fields passed with ``extra=`` (delivery_id, recipient, channel, ...) become JSON keys.
Recipients are named by id ("customer:12"); no code path logs a phone number or an email.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# PostgreSQL's error DETAIL quotes the row or key it refused ("Key (address)=(+86...) already
# exists"): hide_parameters on the engine does not reach it, so the formatters drop it.
_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def private(text: str) -> str:
    """Text for a log line: a database's DETAIL (which may quote a contact) left out."""
    return _DETAIL.sub("DETAIL:  (left out: it may quote a phone number or an email)", text)


# Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": private(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = private(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        base = f"{record.levelname.lower():7} {record.name}: {private(record.getMessage())}"
        text = f"{base} [{extras}]" if extras else base
        if record.exc_info:
            text += "\n" + private(self.formatException(record.exc_info))
        return text


def setup_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that would log request URLs (with phone numbers in query strings) stay quiet.
    for name in ("twilio", "twilio.http_client", "urllib3", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)
