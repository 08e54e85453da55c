from __future__ import annotations

import itertools
import threading

import pytest

from outage_notify.delivery.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_tokens_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(100):
        assert bucket.acquire()
        times.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(0.05)
    assert times[-1] - times[0] == pytest.approx(99 * 0.05)


def test_idle_time_does_not_build_a_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, clock=clock, sleep=clock.sleep)
    assert bucket.reserve() == 0
    clock.now += 60  # a quiet minute
    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(1.0)
    assert bucket.reserve() == pytest.approx(2.0)


def test_burst_allows_that_many_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(4)] == [0, 0, 0, pytest.approx(0.5)]


def test_threads_share_one_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            wait = bucket.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 reservations at a frozen clock: each one 0.1 s after the previous, none shared.
    assert sorted(waits) == pytest.approx([i * 0.1 for i in range(100)])


def test_stop_interrupts_the_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.001, clock=clock)
    bucket.reserve()
    stop = threading.Event()
    stop.set()
    assert bucket.acquire(stop) is False


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
