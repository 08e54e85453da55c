"""A token bucket per channel: nothing in a process sends faster than ``max_per_second``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Shared by a channel's worker threads.

    ``burst`` is 1 by default: tokens are spaced exactly ``1 / rate`` apart, so the rate over
    any window, however short, stays at or under the cap (providers count per second, and a
    burst after an idle minute would break that).
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The time at which the next token is free; a full bucket starts `burst` tokens early.
        self._next = clock() - (burst - 1) * self.interval

    def reserve(self) -> float:
        """Take the next token; returns how long to wait before using it."""
        with self._lock:
            now = self._clock()
            earliest = now - (self.burst - 1) * self.interval
            self._next = max(self._next, earliest)
            wait = self._next - now
            self._next += self.interval
            return max(wait, 0.0)

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a token; False when ``stop`` was set while waiting."""
        wait = self.reserve()
        if wait <= 0:
            return not (stop and stop.is_set())
        if self._sleep is not None:
            self._sleep(wait)
            return True
        if stop is None:
            time.sleep(wait)
            return True
        return not stop.wait(wait)


_SHARED: dict[tuple[str, float], TokenBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_bucket(channel: str, rate: float) -> TokenBucket:
    """The one bucket of ``channel`` at ``rate`` in this process.

    The dispatcher's fan-out and the sign-up codes the web app sends take their tokens from
    it, so together they stay under the channel's ``max_per_second``.
    """
    with _SHARED_LOCK:
        bucket = _SHARED.get((channel, rate))
        if bucket is None:
            bucket = _SHARED[(channel, rate)] = TokenBucket(rate)
        return bucket
