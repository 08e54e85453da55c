"""SMS without a provider: a JSON-lines file (offline use, the demo) or nothing at all.

``channels/sms.py`` names them as the ``file`` and ``disabled`` backends beside Twilio.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from channels.base import ChannelError, DeliveryResult, Message

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FileSMS:
    """One JSON line per message, for offline use and the demo; nothing leaves the machine."""

    name: ClassVar[str] = "sms"

    def __init__(self, path: str | Path, *, clock: Clock = _utcnow) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()

    def send(self, message: Message) -> DeliveryResult:
        provider_id = f"file-{uuid.uuid4().hex}"
        record = {
            "to": message.address,
            "body": message.text,
            "delivery_id": message.delivery_id,
            "recipient_id": message.recipient_id,
            "language": message.language,
            "time": self.clock().isoformat(),
            "valid_until": message.valid_until.isoformat() if message.valid_until else None,
            "provider_id": provider_id,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # One write of a whole line in append mode: lines from several threads (and
                # processes) never interleave.
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line)
        except OSError as exc:
            raise ChannelError(
                f"cannot write {self.path}: {exc.strerror}", permanent=False, code="file"
            ) from exc
        return DeliveryResult(provider_id=provider_id, state="delivered")

    def close(self) -> None:
        """Nothing held open between messages."""


class DisabledSMS:
    """SMS switched off: every send fails permanently, so nothing is retried."""

    name: ClassVar[str] = "sms"

    def send(self, message: Message) -> DeliveryResult:
        raise ChannelError("SMS is disabled", permanent=True, code="disabled")

    def close(self) -> None:
        """Nothing to release."""
