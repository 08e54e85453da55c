"""The home page ``/``, ``/feeds/outages.rss`` and ``/banner.json`` under open-loop load, next
to static files.

500 and then 5,000 outages in a SQLite database; the app ``outage-notify serve`` runs (one
uvicorn process, as deployed), with a static directory mounted beside it for the baselines;
a load generator in another process sends requests at a fixed rate (200/s for 20 s by default)
whatever the answers' pace, and measures each latency from the moment the request was due, so
a server falling behind shows in the figures instead of slowing the load (no coordinated
omission). The URLs take turns in 2-second slices, so bursts of other work on the machine fall
on all of them alike. The baselines are static files served by the same server in the same
run: the stylesheet, and a file holding the home page's own bytes as they went over the wire.

    python -m bench web                 # the full run (about six minutes)
    BENCH_WEB_SECONDS=5 BENCH_WEB_OUTAGES=5000 python -m bench web
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RATE = float(os.environ.get("BENCH_WEB_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_WEB_SECONDS", "20"))
SIZES = [int(n) for n in os.environ.get("BENCH_WEB_OUTAGES", "500,5000").split(",")]
AREAS = 40
SLICE_SECONDS = 2.0
AIM_P99_MS = 50.0
AIM_RATIO = 3.0


def populate(url: str, outages: int) -> dict[str, int]:
    """Outages over the last 60 and the next 30 days, some changed, cancelled or restored."""
    from outage_notify import migrations
    from outage_notify.db import Database
    from tests.web.factory import add_area, add_outage, revise

    database = Database(url)
    migrations.upgrade(database)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(7)
    with database.session() as s:
        for n in range(AREAS):
            utility = "water" if n % 2 == 0 else "gas"
            add_area(
                s,
                f"Z{n:02d}",
                utility=utility,
                lon=121.3 + (n % 8) * 0.02,
                lat=31.1 + (n // 8) * 0.02,
            )
        for n in range(outages):
            area = rng.randrange(AREAS)
            start = now + timedelta(hours=rng.uniform(-60 * 24, 30 * 24))
            outage = add_outage(
                s,
                areas=[f"Z{area:02d}", f"Z{(area + 2) % AREAS:02d}"],
                utility="water" if area % 2 == 0 else "gas",
                title=f"Planned work #{n}: main and valve replacement",
                description="Crews replace a section of main. " * 4,
                start=start,
                hours=rng.choice([2, 4, 6, 8]),
                created=min(start, now) - timedelta(days=rng.uniform(2, 10)),
            )
            roll = rng.random()
            changed_at = min(now, start) - timedelta(hours=1)
            if roll < 0.15:
                revise(
                    s,
                    outage,
                    "rescheduled",
                    at=changed_at,
                    start=start + timedelta(hours=2),
                    end=start + timedelta(hours=8),
                )
            elif roll < 0.22:
                revise(s, outage, "cancelled", at=changed_at, reason="Crew unavailable")
            elif roll < 0.30 and start < now:
                revise(s, outage, "restored", at=min(now, start + timedelta(hours=1)))
    database.dispose()
    return {"outages": outages, "areas": AREAS}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# What `outage-notify serve` runs, with a static directory of the bench's own mounted beside.
SERVE = """
import sys, uvicorn
from fastapi.staticfiles import StaticFiles
from outage_notify.db import Database
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
settings = load_settings(sys.argv[1])
app = create_app(settings, Database(settings.database_url))
app.mount("/bench-static", StaticFiles(directory=sys.argv[2]))
uvicorn.run(app, host="127.0.0.1", port=settings.web.port, log_level="warning",
            proxy_headers=False, server_header=False)
"""


def start_server(directory: Path, url: str, static: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.conftest import base_config, write_config

    port = free_port()
    values = base_config(directory, url)
    values["web"].update(host="127.0.0.1", port=port)
    config = write_config(directory / "bench.toml", values)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTAGE_NOTIFY_")}
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(config), str(static)], env=env)
    return process, f"http://127.0.0.1:{port}"


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    import httpx2 as httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux): contention-proof, unlike latency."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _slice(client: Any, url: str, rate: float, seconds: float, into: dict[str, Any]) -> None:
    """``rate`` requests a second for ``seconds``, each sent when due whatever came back."""
    import httpx2 as httpx

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.01

    async def one(due: float) -> None:
        await asyncio.sleep(max(0.0, due - loop.time()))
        try:
            # Raw bytes as they came over the wire (gzip when the server sent it): the client
            # does not spend its time decompressing.
            async with client.stream("GET", url) as response:
                received = 0
                async for chunk in response.aiter_raw():
                    received += len(chunk)
            if response.status_code != 200:
                into["errors"][str(response.status_code)] = (
                    into["errors"].get(str(response.status_code), 0) + 1
                )
            into["bytes"] = received
        except httpx.HTTPError as error:
            into["errors"][type(error).__name__] = into["errors"].get(type(error).__name__, 0) + 1
        into["latencies"].append((loop.time() - due) * 1000)

    await asyncio.gather(*(one(start + i / rate) for i in range(int(rate * seconds))))


async def _load(urls: list[str], pid: int, rate: float, seconds: float) -> list[dict[str, Any]]:
    """Round-robin slices of every URL, so that whatever else the machine is doing falls on
    all of them alike (2 cores shared with other work: a burst would otherwise land on one)."""
    import httpx2 as httpx

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    rows: dict[str, dict[str, Any]] = {
        u: {"latencies": [], "errors": {}, "bytes": 0, "cpu": 0.0} for u in urls
    }
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        for url in urls:
            for _ in range(20):  # warm the connections and the server's cache
                await client.get(url)
        rounds = max(1, round(seconds / SLICE_SECONDS))
        for _ in range(rounds):
            for url in urls:
                before = cpu_seconds(pid)
                await _slice(client, url, rate, seconds / rounds, rows[url])
                after = cpu_seconds(pid)
                if before is None or after is None:
                    rows[url]["cpu"] = None
                elif rows[url]["cpu"] is not None:
                    rows[url]["cpu"] += after - before
    results = []
    for url, row in rows.items():
        latencies = sorted(row["latencies"])
        results.append(
            {
                "url": url,
                "requests": len(latencies),
                "bytes": row["bytes"],
                "p50": statistics.median(latencies),
                "p99": latencies[int(len(latencies) * 0.99) - 1],
                "max": latencies[-1],
                "errors": row["errors"],
                "cpu_ms": None if row["cpu"] is None else row["cpu"] * 1000 / len(latencies),
            }
        )
    return results


def measure(urls: list[str], pid: int) -> list[dict[str, Any]]:
    """Run the load from a separate process, so the client does not share the server's
    event loop."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_web", "load", str(pid), str(RATE), str(SECONDS), *urls],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: list[dict[str, Any]] = json.loads(output)
    return result


def first_render_ms(url: str) -> float:
    import httpx2 as httpx

    started = time.perf_counter()
    httpx.get(url, timeout=30).raise_for_status()
    return (time.perf_counter() - started) * 1000


def wire_bytes(url: str) -> bytes:
    """The body as the load client receives it (gzipped when the server gzips it)."""
    import httpx2 as httpx

    with httpx.stream("GET", url, timeout=60) as response:
        response.raise_for_status()
        return b"".join(response.iter_raw())


def run_size(outages: int) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        static = directory / "static"
        static.mkdir()
        url = f"sqlite:///{directory / 'bench.db'}"
        counts = populate(url, outages)
        process, base = start_server(directory, url, static)
        try:
            wait_until_up(base, process)
            cold = first_render_ms(f"{base}/feeds/outages.rss")
            cold_home = first_render_ms(f"{base}/")
            (static / "home.html").write_bytes(wire_bytes(f"{base}/"))
            import httpx2 as httpx

            entries = httpx.get(f"{base}/feeds/outages.rss").text.count("<item>")
            print(
                f"{counts['outages']} outages in {counts['areas']} areas, {entries} in the feed "
                f"window; open-loop {RATE:.0f} requests/s for {SECONDS:.0f} s per URL; "
                f"first (uncached) render: RSS {cold:.0f} ms, home page {cold_home:.0f} ms"
            )
            paths = [
                ("static file (baseline)", "/static/site.css"),
                ("static, home's bytes (baseline)", "/bench-static/home.html"),
                ("/ (home page)", "/"),
                ("/?utility=water&lang=en", "/?utility=water&lang=en"),
                ("/feeds/outages.rss", "/feeds/outages.rss"),
                ("/banner.json?area=Z00", "/banner.json?area=Z00"),
                ("/banner.json (all areas)", "/banner.json"),
            ]
            measured = measure([f"{base}{path}" for _, path in paths], process.pid)
            rows = [(name, row) for (name, _), row in zip(paths, measured, strict=True)]
        finally:
            process.terminate()
            process.wait(timeout=20)
    baseline, same_bytes = rows[0][1]["p99"], rows[1][1]["p99"]
    print(
        f"{'':32} {'wire B':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'p99/static':>10} "
        f"{'p99/same B':>10} {'server CPU ms/req':>17}  errors"
    )
    for name, row in rows:
        cpu = "n/a" if row["cpu_ms"] is None else f"{row['cpu_ms']:.2f}"
        print(
            f"{name:32} {row['bytes']:7d} {row['p50']:7.2f} {row['p99']:7.2f} {row['max']:7.2f} "
            f"{row['p99'] / baseline:10.2f} {row['p99'] / same_bytes:10.2f} {cpu:>17}  "
            f"{row['errors'] or '-'}"
        )


def main() -> None:
    for outages in SIZES:
        run_size(outages)
    print(
        f"aim: p99 <= {AIM_P99_MS:.0f} ms and <= {AIM_RATIO:.0f}x the static file's p99 "
        f"(the home page: of the static file of its own bytes)"
    )
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    if len(sys.argv) > 5 and sys.argv[1] == "load":
        pid, rate, seconds = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
        print(json.dumps(asyncio.run(_load(sys.argv[5:], pid, rate, seconds))))
    else:
        main()
