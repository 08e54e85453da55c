"""What the Twilio client costs per message: ``TwilioSMS.send`` against the local fake Twilio
server (a separate process), next to bare ``requests`` POSTs of the same form to the same
server in the same run. Both use the same number of threads (``sms.concurrency``'s default).

    python -m bench sms
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from channels.base import Message
from channels.sms import TwilioSMS
from tests.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

REPO = Path(__file__).resolve().parents[1]
MESSAGES = 400
THREADS = 4
ROUNDS = 5
BODY = "城市供水：12月1日(周二) 08:00-12:00 翠苑一区停水，请提前储水。客服热线12319"


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_twilio", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
    return process, url


def run(send: Callable[[int], None]) -> tuple[float, list[float]]:
    """Messages per second and each send's latency in ms."""
    latencies: list[float] = []

    def timed(n: int) -> None:
        started = time.perf_counter()
        send(n)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(timed, range(MESSAGES)))
    return MESSAGES / (time.perf_counter() - started), latencies


def median_round(rounds: list[tuple[float, list[float]]]) -> tuple[float, list[float]]:
    return sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]


def describe(name: str, rate: float, latencies: list[float]) -> str:
    p95 = statistics.quantiles(latencies, n=20)[18]
    return (
        f"{name:<28} {rate:8.0f} msg/s   p50 {statistics.median(latencies):5.1f} ms"
        f"   p95 {p95:5.1f} ms"
    )


def main() -> None:
    process, url = start_fake()
    try:
        messages_url = f"{url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
        session = requests.Session()
        auth = (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)

        def bare(n: int) -> None:
            form = {"To": f"+86138{n:08d}", "Body": BODY, "From": "+15005550006"}
            response = session.post(messages_url, data=form, auth=auth, timeout=10)
            response.raise_for_status()

        channel = TwilioSMS(
            account_sid=DEFAULT_ACCOUNT_SID,
            auth_token=DEFAULT_AUTH_TOKEN,
            from_number="+15005550006",
            api_base_url=url,
            status_callback_url="https://outages.example.org/twilio/status",
        )

        def through_channel(n: int) -> None:
            channel.send(Message(n, f"customer:{n}", f"+86139{n:08d}", "zh-CN", BODY))

        run(bare)  # warm both up: connections, imports
        run(through_channel)
        # Alternate the two, and keep the median round of each: the machine is shared.
        bare_rounds, channel_rounds = [], []
        for _ in range(ROUNDS):
            bare_rounds.append(run(bare))
            channel_rounds.append(run(through_channel))
        channel.close()
        base_rate, base_latencies = median_round(bare_rounds)
        rate, latencies = median_round(channel_rounds)
        print(
            f"{MESSAGES} messages x {ROUNDS} rounds (median round), {THREADS} threads, "
            "fake Twilio in another process"
        )
        print(describe("baseline: bare requests", base_rate, base_latencies))
        print(describe("TwilioSMS.send", rate, latencies))
        print(f"channel overhead per message: {1000 / rate - 1000 / base_rate:+.2f} ms")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
