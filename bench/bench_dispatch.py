"""The dispatcher's SMS throughput against the fake Twilio in another process.

1. For SQLite and PostgreSQL, with the fake answering at once and with ``BENCH_LATENCY``
   seconds (0.15) of provider latency: messages/s through the whole engine (claims, the
   opt-out check, rendering, the real twilio client, results) next to a bare
   ``requests.Session`` loop posting the same form with the same concurrency (8), in the
   same run, and the duplicates the fake saw.
2. Scale-out: 1, 2 and 3 ``dispatch`` processes on one PostgreSQL database, latency the
   bound, ``BENCH_SMS_PER_INSTANCE`` messages per process: their total messages/s against
   one process's, and the duplicates.
3. ``max_per_second = 20``: the measured rate at the provider next to the cap.

``BENCH_SMS=5000 python -m bench dispatch`` for a quicker run (``BENCH_SMS_SLOW`` sets the
count of the latency rows, ``BENCH_POSTGRES_URL=`` skips PostgreSQL).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bench.scratch import (
    DISPATCH_HEADER,
    backends,
    dispatch_row,
    run_together,
    scratch_database,
    table,
)
from channels.sms import TwilioSMS
from outage_notify.db import Database, utcnow
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.engine import build_engine
from outage_notify.settings import load_settings
from tests.factories import add_area, add_customers, add_notice, add_outage
from tests.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.processes import fake_script, fake_stats, fake_twilio_process

COUNT = int(os.environ.get("BENCH_SMS", "20000"))
SLOW_COUNT = int(os.environ.get("BENCH_SMS_SLOW", "1600"))
PER_INSTANCE = int(os.environ.get("BENCH_SMS_PER_INSTANCE", "800"))
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.15"))
INSTANCES = (1, 2, 3)
CONCURRENCY = 8
CAPPED, CAP = 300, 20.0
FROM = "+15005550006"
UNCAPPED = 1_000_000.0


def _plan(url: str, count: int) -> None:
    database = Database(url)
    now = utcnow()
    with database.session() as session:
        add_area(session, "W1")
        add_customers(session, count, email=None)
        outage = add_outage(session, start=now + timedelta(days=2))
        add_notice(session, outage, due=now - timedelta(minutes=1))
    database.dispose()


def _engine(url: str, database: Database, *, rate: float) -> Dispatcher:
    # No quiet hours: the figure must not depend on the hour the benchmark runs.
    environ = {"OUTAGE_NOTIFY_WEB__SECRET_KEY": "bench", "OUTAGE_NOTIFY_SCHEDULE__QUIET_HOURS": ""}
    settings = load_settings(environ=environ)
    sms = TwilioSMS(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=DEFAULT_AUTH_TOKEN,
        from_number=FROM,
        api_base_url=url,
    )
    return build_engine(
        database,
        settings,
        channels={"sms": sms},
        concurrency_of={"sms": CONCURRENCY},
        rates_of={"sms": rate},
    ).dispatcher


def _bare(url: str, count: int) -> float:
    """The same POSTs from plain requests sessions, one per thread, nothing else."""
    endpoint = f"{url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
    local = threading.local()
    body = (
        "【城市供水】W1计划于12月1日(周二)08:00-12:00停水，请提前储水。"
        "详情https://x/outages/1 咨询12319"
    )

    def post(index: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.post(
            endpoint,
            auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
            timeout=10,
            data={"To": f"+8619{index:09d}", "From": FROM, "Body": body},
        )
        response.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(post, range(count)))
    return count / (time.perf_counter() - started)


def _reset(url: str, latency: float) -> None:
    requests.post(f"{url}/_fake/reset", timeout=5).raise_for_status()
    fake_script(url, delay=latency)


def _duplicates(url: str) -> tuple[int, int]:
    """(recipients the fake has a message for, messages beyond the first per recipient)."""
    accepted: dict[str, int] = fake_stats(url)["accepted"]
    return len(accepted), sum(n - 1 for n in accepted.values())


def _row(fake: str, backend: str, latency: float, count: int, directory: Path) -> list[str]:
    with scratch_database(backend, directory) as url:
        _plan(url, count)
        _reset(fake, latency)
        baseline = _bare(fake, count)
        _reset(fake, latency)
        database = Database(url)
        dispatcher = _engine(fake, database, rate=UNCAPPED)
        started = time.perf_counter()
        summary = dispatcher.run_once()
        rate = count / (time.perf_counter() - started)
        database.dispose()
        recipients, duplicates = _duplicates(fake)
        assert summary.results["sms/sent"] == count == recipients, (summary.results, recipients)
    return dispatch_row(backend, latency, count, rate, baseline, duplicates)


def _instance(fake: str, url: str, ready: Any, go: Any, results: Any) -> None:
    """One dispatch process of the scale-out run: ready, wait for the start, one pass."""
    database = Database(url)
    dispatcher = _engine(fake, database, rate=UNCAPPED)
    ready.put(os.getpid())
    go.wait()
    summary = dispatcher.run_once()
    results.put((summary.results["sms/sent"], time.monotonic()))
    database.dispose()


def _scaled(fake: str, n: int, directory: Path) -> tuple[float, int, int]:
    """(messages/s of n processes together, messages, duplicates)."""
    count = PER_INSTANCE * n
    with scratch_database("postgresql", directory) as url:
        _plan(url, count)
        _reset(fake, LATENCY)
        sent, elapsed = run_together(_instance, (fake, url), n)
        recipients, duplicates = _duplicates(fake)
        assert sent == count == recipients, (sent, count, recipients)
    return count / elapsed, count, duplicates


def _capped(fake: str, directory: Path) -> str:
    with scratch_database("sqlite", directory) as url:
        _plan(url, CAPPED)
        _reset(fake, 0.0)
        database = Database(url)
        dispatcher = _engine(fake, database, rate=CAP)
        started = time.perf_counter()
        dispatcher.run_once()
        measured = (CAPPED - 1) / (time.perf_counter() - started)  # n messages, n-1 intervals
        database.dispose()
    return (
        f"max_per_second = {CAP:g}: {measured:.2f} msg/s over {CAPPED} messages "
        f"({(measured / CAP - 1) * 100:+.1f}% of the cap; aim: within 5%)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, fake_twilio_process() as fake:
        directory = Path(tmp)
        have = backends()
        rows = [
            _row(fake, backend, latency, COUNT if latency == 0 else SLOW_COUNT, directory)
            for backend in have
            for latency in (0.0, LATENCY)
        ]
        print(f"SMS dispatch, concurrency {CONCURRENCY}, no rate cap, fake Twilio in a process")
        print(
            "aims: at least 0.9x the bare loop on SQLite, 0.8x on PostgreSQL; 0 duplicates"
            + ("" if "postgresql" in have else " (PostgreSQL not reachable: skipped)")
        )
        print(table(DISPATCH_HEADER, rows))
        if "postgresql" in have:
            scaled = [_scaled(fake, n, directory) for n in INSTANCES]
            one = scaled[0][0]
            print()
            print(
                f"scale-out: N dispatch processes on one PostgreSQL database, "
                f"{LATENCY * 1000:.0f} ms latency, {PER_INSTANCE:,} messages per process "
                f"(aim: N processes at least 0.8*N times one, 0 duplicates)"
            )
            scale_rows = [
                [
                    str(n),
                    f"{count:,}",
                    f"{rate:,.0f}",
                    f"{rate / one:.2f}x",
                    f"{0.8 * n:.1f}x",
                    str(d),
                ]
                for n, (rate, count, d) in zip(INSTANCES, scaled, strict=True)
            ]
            print(table(["N", "messages", "msg/s", "vs one", "aim", "dups"], scale_rows))
        print()
        print(_capped(fake, directory))


if __name__ == "__main__":
    main()
