"""Email through the whole dispatcher, the table ``bench dispatch`` prints for SMS.

For SQLite and PostgreSQL, the aiosmtpd server (another process, ``bench/smtp_sink.py``)
answering at once and after ``BENCH_LATENCY`` seconds: messages/s of the engine (claims,
the opt-out check, rendering, ``SMTPEmail`` with 4 connections, results) next to bare
smtplib on 4 threads, one connection each, building each message with ``EmailMessage`` as a
script without this project would; then N dispatch processes on one PostgreSQL database.
Duplicates are counted at the server. Part of ``python -m bench email``.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_dispatch import INSTANCES, LATENCY, UNCAPPED
from bench.bench_email import FROM, _free_port, _plain_mime, _start_server, notice_messages
from bench.scratch import (
    DISPATCH_HEADER,
    backends,
    dispatch_row,
    run_together,
    scratch_database,
    table,
)
from channels.email import SMTPEmail
from outage_notify.db import Database, utcnow
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.engine import build_engine
from outage_notify.registry import EMAIL_CONCURRENCY
from outage_notify.settings import load_settings
from tests.factories import add_area, add_customers, add_notice, add_outage

COUNT = int(os.environ.get("BENCH_EMAIL_DISPATCH", "3000"))
SLOW_COUNT = int(os.environ.get("BENCH_EMAIL_SLOW", "600"))
PER_INSTANCE = int(os.environ.get("BENCH_EMAIL_PER_INSTANCE", "300"))


@contextmanager
def _server(directory: Path, latency: float) -> Iterator[tuple[int, Path]]:
    """A counting aiosmtpd answering after ``latency``; yields its port and its log."""
    port, log = _free_port(), directory / f"rcpt-{time.monotonic_ns()}.log"
    log.touch()
    server = _start_server(port, "bench.smtp_sink.CountingSink", str(latency), str(log))
    try:
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=10)


def _duplicates(log: Path) -> tuple[int, int]:
    received = Counter(log.read_text(encoding="utf-8").split())
    return len(received), sum(n - 1 for n in received.values())


def _plan(url: str, count: int) -> None:
    database = Database(url)
    now = utcnow()
    with database.session() as session:
        add_area(session, "W1")
        add_customers(session, count, phone=None)
        outage = add_outage(session, start=now + timedelta(days=2))
        add_notice(session, outage, due=now - timedelta(minutes=1))
    database.dispose()


def _engine(port: int, database: Database) -> Dispatcher:
    environ = {"OUTAGE_NOTIFY_WEB__SECRET_KEY": "bench", "OUTAGE_NOTIFY_SCHEDULE__QUIET_HOURS": ""}
    email = SMTPEmail(
        host="127.0.0.1", port=port, from_address=FROM, starttls=False, local_hostname="bench"
    )
    return build_engine(
        database,
        load_settings(environ=environ),
        channels={"email": email},
        concurrency_of={"email": EMAIL_CONCURRENCY},
        rates_of={"email": UNCAPPED},
    ).dispatcher


def _bare(port: int, count: int) -> float:
    messages = notice_messages(count)
    local = threading.local()
    opened: list[smtplib.SMTP] = []

    def send(index: int) -> None:
        smtp = getattr(local, "smtp", None)
        if smtp is None:
            smtp = local.smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench")
            opened.append(smtp)
        message = messages[index]
        smtp.sendmail(FROM, [f"bare{index}@example.net"], _plain_mime(message))

    started = time.perf_counter()
    with ThreadPoolExecutor(EMAIL_CONCURRENCY) as pool:
        list(pool.map(send, range(count)))
    rate = count / (time.perf_counter() - started)
    for smtp in opened:
        smtp.quit()
    return rate


def _row(backend: str, latency: float, count: int, directory: Path) -> list[str]:
    with scratch_database(backend, directory) as url, _server(directory, latency) as (port, log):
        _plan(url, count)
        baseline = _bare(port, count)
        log.write_text("", encoding="utf-8")
        database = Database(url)
        dispatcher = _engine(port, database)
        started = time.perf_counter()
        summary = dispatcher.run_once()
        rate = count / (time.perf_counter() - started)
        for channel in dispatcher.channels.values():
            channel.close()
        database.dispose()
        recipients, duplicates = _duplicates(log)
        assert summary.results["email/sent"] == count == recipients, summary.results
    return dispatch_row(backend, latency, count, rate, baseline, duplicates)


def _instance(port: int, url: str, ready: Any, go: Any, results: Any) -> None:
    database = Database(url)
    dispatcher = _engine(port, database)
    ready.put(os.getpid())
    go.wait()
    summary = dispatcher.run_once()
    results.put((summary.results["email/sent"], time.monotonic()))
    for channel in dispatcher.channels.values():
        channel.close()
    database.dispose()


def _scaled(n: int, directory: Path) -> tuple[float, int, int]:
    count = PER_INSTANCE * n
    with (
        scratch_database("postgresql", directory) as url,
        _server(directory, LATENCY) as (port, log),
    ):
        _plan(url, count)
        sent, elapsed = run_together(_instance, (port, url), n)
        recipients, duplicates = _duplicates(log)
        assert sent == count == recipients, (sent, count, recipients)
    return count / elapsed, count, duplicates


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        have = backends()
        rows = [
            _row(backend, latency, COUNT if latency == 0 else SLOW_COUNT, directory)
            for backend in have
            for latency in (0.0, LATENCY)
        ]
        print(
            f"email dispatch, {EMAIL_CONCURRENCY} connections, no rate cap, aiosmtpd in a process"
        )
        print("aims: at least 0.9x bare smtplib on SQLite, 0.8x on PostgreSQL; 0 duplicates")
        print(table(DISPATCH_HEADER, rows))
        if "postgresql" not in have:
            print("(PostgreSQL not reachable: skipped, and the scale-out with it)")
            return
        scaled = [_scaled(n, directory) for n in INSTANCES]
        one = scaled[0][0]
        print()
        print(
            f"scale-out: N dispatch processes on one PostgreSQL database, "
            f"{LATENCY * 1000:.0f} ms latency, {PER_INSTANCE:,} emails per process"
        )
        scale_rows = [
            [str(n), f"{count:,}", f"{rate:,.0f}", f"{rate / one:.2f}x", f"{0.8 * n:.1f}x", str(d)]
            for n, (rate, count, d) in zip(INSTANCES, scaled, strict=True)
        ]
        print(table(["N", "messages", "msg/s", "vs one", "aim", "dups"], scale_rows))
