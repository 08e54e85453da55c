"""Email throughput: 5,000 notices through ``SMTPEmail`` to a local aiosmtpd server.

The server runs in another process (``python -m aiosmtpd`` with the Sink handler), so its
CPU does not count against the client. Baselines, measured in the same run on the same
messages, each on one connection:

- bare smtplib: build each message with ``email.message.EmailMessage`` (the same parts)
  and ``smtplib.SMTP.sendmail`` it, as a script without this project would;
- transport only: ``sendmail`` of bytes serialised before the clock starts.

Then the same table as ``bench dispatch``, for email through the whole engine (claims,
rendering, ``SMTPEmail``, results) on SQLite and PostgreSQL, the server answering at once and
after ``BENCH_LATENCY`` seconds, next to bare smtplib with the same 4 connections, and N
dispatch processes on one PostgreSQL database (``bench/email_dispatch.py``).

Run: ``python -m bench email`` (``BENCH_EMAIL_COUNT`` changes the count).
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.base import Message
from channels.email import SMTPEmail
from channels.email_message import wire_message
from outage_notify.notices.email import compose_email
from outage_notify.notices.texts import NoticeContext
from outage_notify.settings import Settings

COUNT = int(os.environ.get("BENCH_EMAIL_COUNT", "5000"))
FROM = "notices@example.org"
ROUNDS = 2  # best of, to damp the noise of a shared machine
SEVEN_BIT = policy.SMTP.clone(cte_type="7bit")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _start_server(port: int, *handler: str) -> subprocess.Popen[bytes]:
    """aiosmtpd in a process of its own; ``handler``: its class and arguments (Sink)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            *(handler or ("aiosmtpd.handlers.Sink",)),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(64).startswith(b"220"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the aiosmtpd server did not start")


def notice_messages(count: int = COUNT) -> list[Message]:
    """``count`` advance notices, every other one in zh-CN, as ``compose_email`` makes them."""
    settings = Settings.model_validate(
        {"public_url": "https://outages.example.org", "web": {"secret_key": "bench"}}
    )
    zone = ZoneInfo(settings.timezone)
    messages = []
    for n in range(count):
        language = "zh-CN" if n % 2 else "en"
        ctx = NoticeContext(
            kind="advance",
            language=language,
            outage_id=100 + n % 7,
            revision=1,
            utility="water",
            utility_name="城市供水" if language == "zh-CN" else "City Water",
            title="滨河路供水管道更换" if language == "zh-CN" else "Water main replacement",
            description="Crews replace 200 m of water main under Riverside Road. " * 3,
            area_codes=["R1", "R2"],
            area_names=["Riverside", "Old Town"],
            start=datetime(2025, 12, 1, 8, 0, tzinfo=zone),
            end=datetime(2025, 12, 1, 16, 0, tzinfo=zone),
            hotline="12319",
            outage_url=f"https://outages.example.org/outages/{100 + n % 7}",
        )
        messages.append(
            compose_email(
                ctx,
                delivery_id=n + 1,
                recipient_id=f"customer:{n + 1}",
                address=f"resident{n}@example.net",
                settings=settings,
                now=datetime(2025, 11, 20, tzinfo=UTC),
            )
        )
    return messages


def _plain_mime(message: Message) -> bytes:
    # 7-bit transfer encodings, as SMTPEmail uses: with the default policy the stdlib writes
    # Chinese HTML as 8bit lines longer than SMTP's 1,000 octets, which servers refuse.
    mime = EmailMessage(policy=SEVEN_BIT)
    mime["From"] = FROM
    mime["To"] = message.address
    mime["Subject"] = message.subject
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html or "", subtype="html")
    for attachment in message.attachments:
        mime.add_attachment(
            attachment.data, maintype="text", subtype="calendar", filename=attachment.filename
        )
    return mime.as_bytes()


def _bare_smtplib(port: int, messages: list[Message]) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as smtp:
        for message in messages:
            smtp.sendmail(FROM, [message.address], _plain_mime(message))
    return time.perf_counter() - start


def _transport_only(port: int, messages: list[Message]) -> float:
    now = datetime.now(UTC)
    ready = [(m.address, wire_message(m, from_address=FROM, date=now).data) for m in messages]
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as smtp:
        for address, data in ready:
            smtp.sendmail(FROM, [address], data)
    return time.perf_counter() - start


def _smtp_email(port: int, messages: list[Message]) -> float:
    channel = SMTPEmail(
        host="127.0.0.1", port=port, from_address=FROM, starttls=False, local_hostname="bench"
    )
    start = time.perf_counter()
    try:
        for message in messages:
            channel.send(message)
    finally:
        channel.close()
    return time.perf_counter() - start


def main() -> None:
    messages = notice_messages()
    size = (
        sum(
            len(wire_message(m, from_address=FROM, date=datetime.now(UTC)).data)
            for m in messages[:100]
        )
        // 100
    )
    port = _free_port()
    server = _start_server(port)
    runs: dict[str, Callable[[int, list[Message]], float]] = {
        "transport only (pre-serialised bytes)": _transport_only,
        "bare smtplib + EmailMessage": _bare_smtplib,
        "SMTPEmail.send": _smtp_email,
    }
    best: dict[str, float] = {}
    try:
        for _ in range(ROUNDS):
            for name, run in runs.items():
                elapsed = run(port, messages)
                best[name] = min(best.get(name, elapsed), elapsed)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"{COUNT} emails of about {size} bytes to aiosmtpd (another process), "
        f"one connection, best of {ROUNDS}:"
    )
    for name, elapsed in best.items():
        print(f"  {name:40s} {COUNT / elapsed:8.0f} messages/s")
    ours = COUNT / best["SMTPEmail.send"]
    print(
        f"  ratio to bare smtplib: {ours / (COUNT / best['bare smtplib + EmailMessage']):.2f}x"
        f" (aim: at least 0.70x)"
    )
    transport = COUNT / best["transport only (pre-serialised bytes)"]
    print(f"  ratio to transport only: {ours / transport:.2f}x")
    print()
    from bench import email_dispatch

    email_dispatch.main()


if __name__ == "__main__":
    main()
