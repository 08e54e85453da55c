"""What the fake does wrong, on purpose: scripted by a test, a benchmark or over HTTP."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

Failure = tuple[int, int, dict[str, str]]  # HTTP status, Twilio code, extra headers


@dataclass
class Faults:
    rate_429_percent: float = 0.0
    retry_after: str | None = "1"
    storm_status: int = 503
    storm_remaining: int = 0
    storm_until: float = 0.0  # monotonic
    error_codes: dict[str, tuple[int, int]] = field(default_factory=dict)  # to: (code, status)
    problem_details: bool = False  # errors in RFC 9457 form (TwilioServiceException)
    delay: float = 0.0
    # Sleep after a message is created, before answering: the client times out although
    # Twilio has the message (the ambiguous case a sender must look up, not resend).
    response_delay: float = 0.0
    # How long an accepted message stays queued at Twilio (no DateSent yet); None: until
    # FakeTwilio.release(). Under load Twilio holds messages for minutes.
    queue_seconds: float | None = 0.0
    # A share of message lists (lookups) answered 429: a storm hits those too.
    lookup_429_percent: float = 0.0


class FaultScript:
    """The current faults, safe to change while the server answers requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._random = random.Random(0)

    def script(
        self,
        *,
        rate_429_percent: float | None = None,
        retry_after: str | None = None,
        storm_requests: int | None = None,
        storm_seconds: float | None = None,
        storm_status: int | None = None,
        error_codes: dict[str, int | list[int]] | None = None,
        problem_details: bool | None = None,
        delay: float | None = None,
        response_delay: float | None = None,
        queue_seconds: float | None = None,
        hold_queued: bool | None = None,
        lookup_429_percent: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Set faults; arguments left out keep their current value.

        ``error_codes`` maps a recipient to a Twilio code, or to ``[code, http_status]``.
        ``seed`` makes the share of 429s reproducible. ``queue_seconds`` keeps each accepted
        message queued (no ``DateSent``) that long; ``hold_queued`` keeps them queued until
        released (``FakeTwilio.release``), False ends the hold.
        """
        with self._lock:
            f = self._faults
            if rate_429_percent is not None:
                f.rate_429_percent = rate_429_percent
            if retry_after is not None:
                f.retry_after = retry_after or None
            if storm_status is not None:
                f.storm_status = storm_status
            if storm_requests is not None:
                f.storm_remaining = storm_requests
            if storm_seconds is not None:
                f.storm_until = time.monotonic() + storm_seconds
            if error_codes is not None:
                for to, value in error_codes.items():
                    code, status = value if isinstance(value, list) else (value, 400)
                    f.error_codes[to] = (int(code), int(status))
            if problem_details is not None:
                f.problem_details = problem_details
            if delay is not None:
                f.delay = delay
            if response_delay is not None:
                f.response_delay = response_delay
            if queue_seconds is not None:
                f.queue_seconds = queue_seconds
            if lookup_429_percent is not None:
                f.lookup_429_percent = lookup_429_percent
            if hold_queued is not None:
                f.queue_seconds = None if hold_queued else 0.0
            if seed is not None:
                self._random = random.Random(seed)

    def reset(self) -> None:
        with self._lock:
            self._faults = Faults()
            self._random = random.Random(0)

    @property
    def delay(self) -> float:
        with self._lock:
            return self._faults.delay

    @property
    def response_delay(self) -> float:
        with self._lock:
            return self._faults.response_delay

    @property
    def queue_seconds(self) -> float | None:
        with self._lock:
            return self._faults.queue_seconds

    @property
    def problem_details(self) -> bool:
        with self._lock:
            return self._faults.problem_details

    def lookup_failure(self) -> Failure | None:
        """A 429 for this list request, when the share of failing lookups says so."""
        with self._lock:
            f = self._faults
            if f.lookup_429_percent and self._random.random() * 100 < f.lookup_429_percent:
                headers = {"Retry-After": f.retry_after} if f.retry_after else {}
                return 429, 20429, headers
        return None

    def failure_for(self, to: str | None) -> Failure | None:
        """The scripted failure of this request, if any (a storm counts it down)."""
        with self._lock:
            f = self._faults
            if f.storm_remaining > 0:
                f.storm_remaining -= 1
                return f.storm_status, f.storm_status, {}
            if time.monotonic() < f.storm_until:
                return f.storm_status, f.storm_status, {}
            if f.rate_429_percent and self._random.random() * 100 < f.rate_429_percent:
                headers = {"Retry-After": f.retry_after} if f.retry_after else {}
                return 429, 20429, headers
            if to is not None and to in f.error_codes:
                code, status = f.error_codes[to]
                return status, code, {}
        return None
