"""An aiosmtpd handler for the email benchmarks: answers after a delay, counts recipients.

``python -m aiosmtpd -n -c bench.smtp_sink.CountingSink DELAY PATH``: every accepted
message waits DELAY seconds before its ``250`` (a provider's latency) and appends its
recipients to PATH, one a line, so a benchmark can count duplicates afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


class CountingSink:
    def __init__(self, delay: float, path: str) -> None:
        self.delay = delay
        self.path = path

    @classmethod
    def from_cli(cls, parser: argparse.ArgumentParser, *args: str) -> CountingSink:
        if len(args) != 2:
            parser.error("CountingSink takes DELAY and PATH")
        return cls(float(args[0]), args[1])

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with open(self.path, "a", encoding="utf-8") as out:
            out.writelines(f"{rcpt}\n" for rcpt in envelope.rcpt_tos)
        return "250 OK"
