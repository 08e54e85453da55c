from __future__ import annotations

import bisect
import itertools
import random
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
    assert bucket.take() == 0
    clock.now += 60  # a quiet minute
    assert bucket.take() == 0
    assert bucket.take() == pytest.approx(1.0)
    assert bucket.take() == pytest.approx(1.0)  # asking again books nothing


def test_burst_allows_that_many_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [0, 0, 0, pytest.approx(0.5)]


def test_threads_share_one_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock)
    taken: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            wait = bucket.take()
            with lock:
                taken.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 tries at a frozen clock: one token, every other try told to wait 0.1 s.
    assert taken.count(0.0) == 1
    assert sorted(taken)[1:] == pytest.approx([0.1] * 99)


class VirtualTime:
    """Time that moves only when every sender sleeps: it jumps to the earliest wake.

    Each sleep ends late by a seeded random amount (a loaded machine), so wakes interleave
    as they do for real, with no wall clock involved.
    """

    def __init__(self, senders: int, *, late: float, seed: int = 0) -> None:
        self.now = 0.0
        self.late = late
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._running = senders
        self._wakes: dict[int, float] = {}

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float, *, late: bool = True) -> None:
        me = threading.get_ident()
        with self._cond:
            lateness = self._rng.uniform(0, self.late) if late else 0.0
            self._wakes[me] = self.now + seconds + lateness
            self._running -= 1
            self._advance()
            while me in self._wakes:
                self._cond.wait()

    def done(self) -> None:
        with self._cond:
            self._running -= 1
            self._advance()

    def _advance(self) -> None:
        if self._running or not self._wakes:
            return
        who, wake = min(self._wakes.items(), key=lambda item: item[1])
        self.now = max(self.now, wake)
        del self._wakes[who]
        self._running += 1
        self._cond.notify_all()


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))


@pytest.mark.parametrize("seed", range(5))
def test_late_wakes_never_break_the_cap_in_any_second(seed: int) -> None:
    rate, senders, each = 20.0, 8, 40
    clock = VirtualTime(senders, late=0.3, seed=seed)
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        try:
            for _ in range(each):
                assert bucket.acquire()
                with lock:
                    sent.append(clock.now)
                clock.sleep(0.02, late=False)  # the request itself
        finally:
            clock.done()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(sent) == senders * each
    assert most_in_one_second(sent) <= rate


def test_stop_interrupts_the_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.001, clock=clock)
    bucket.take()
    stop = threading.Event()
    stop.set()
    assert bucket.acquire(stop) is False


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
