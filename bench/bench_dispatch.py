"""The dispatcher's SMS throughput against the fake Twilio in another process.

1. 20,000 SMS, no rate cap, concurrency 8: messages/s through the whole engine (SQLite
   claims and results, rendering, the real twilio client) next to a bare ``requests.Session``
   loop posting the same form with the same concurrency, in the same run.
2. ``max_per_second = 20``: the measured rate at the provider next to the cap.

``BENCH_SMS=5000 python -m bench dispatch`` for a quicker run.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

from channels.sms import TwilioSMS
from outage_notify import migrations
from outage_notify.db import Database, utcnow
from outage_notify.delivery.dispatcher import Dispatcher
from outage_notify.delivery.engine import build_engine
from outage_notify.settings import load_settings
from tests.factories import add_area, add_customers, add_notice, add_outage
from tests.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.processes import fake_stats, fake_twilio_process

COUNT = int(os.environ.get("BENCH_SMS", "20000"))
CONCURRENCY = 8
CAPPED, CAP = 300, 20.0
FROM = "+15005550006"


def _database(directory: Path, count: int) -> Database:
    database = Database(f"sqlite:///{directory / 'bench.db'}")
    migrations.upgrade(database)
    now = utcnow()
    with database.session() as session:
        add_area(session, "W1")
        add_customers(session, count, email=None)
        outage = add_outage(session, start=now + timedelta(days=2))
        add_notice(session, outage, due=now - timedelta(minutes=1))
    return database


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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, fake_twilio_process() as url:
        directory = Path(tmp)
        database = _database(directory, COUNT)
        baseline = _bare(url, COUNT)
        before = fake_stats(url)["messages"]
        dispatcher = _engine(url, database, rate=1_000_000.0)
        started = time.perf_counter()
        summary = dispatcher.run_once()
        elapsed = time.perf_counter() - started
        sent = fake_stats(url)["messages"] - before
        assert summary.results["sms/sent"] == COUNT == sent, (summary.results, sent)
        rate = COUNT / elapsed
        print(f"bare requests.Session x{CONCURRENCY}: {baseline:,.0f} msg/s ({COUNT:,} messages)")
        print(
            f"dispatcher (claim, render, twilio client, record) x{CONCURRENCY}: {rate:,.0f} "
            f"msg/s, {rate / baseline:.2f}x the baseline (aim: at least 0.7x)"
        )
        database.dispose()

        capped_dir = directory / "capped"
        capped_dir.mkdir()
        database = _database(capped_dir, CAPPED)
        dispatcher = _engine(url, database, rate=CAP)
        started = time.perf_counter()
        dispatcher.run_once()
        elapsed = time.perf_counter() - started
        measured = (CAPPED - 1) / elapsed  # n messages span n-1 intervals
        print(
            f"max_per_second = {CAP:g}: {measured:.2f} msg/s over {CAPPED} messages "
            f"({(measured / CAP - 1) * 100:+.1f}% of the cap; aim: within 5%)"
        )
        database.dispose()


if __name__ == "__main__":
    main()
