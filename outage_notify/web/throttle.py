"""Per-client rate limits for the forms: a token bucket per client address, in memory.

Each client may post ``web.form_burst`` forms at once and ``web.form_per_minute`` after
that; beyond, the form answers 429 with ``Retry-After``. The client is the address the
connection came from (``request.client``), which is the proxy's unless the app was told to
believe a proxy's ``X-Forwarded-For`` (``web.trusted_proxies``, applied by uvicorn's
ProxyHeadersMiddleware in ``create_app``): no header a client sends can choose its bucket.
An IPv6 client counts by its /64, which one household or phone usually holds whole.

The buckets are per process and forgotten at a restart: the limit slows a script down, it
is not an account of who did what. At most ``max_clients`` buckets are kept; the least
recently used goes first, which can only ever be generous to a client.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from outage_notify.settings import Settings


class ClientThrottle:
    def __init__(
        self,
        *,
        burst: int,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 50_000,
    ) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("burst must be at least 1 and per_minute positive")
        self.burst = float(burst)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def take(self, client: str) -> int:
        """Spend one token of ``client``'s bucket: 0 when allowed, else the whole seconds to
        wait before the next one."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))


def client_key(request: Request) -> str:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def form_throttle(settings: Settings) -> ClientThrottle:
    return ClientThrottle(burst=settings.web.form_burst, per_minute=settings.web.form_per_minute)


def retry_after(request: Request) -> int:
    """Take a token for this request's client: 0, or the seconds to wait (for Retry-After)."""
    throttle: ClientThrottle = request.app.state.form_throttle
    return throttle.take(client_key(request))
