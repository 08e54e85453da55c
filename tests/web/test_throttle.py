"""The per-client token bucket of the forms, on a clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest

from outage_notify.web.throttle import ClientThrottle, client_key


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    ticks = Ticks()
    throttle = ClientThrottle(burst=3, per_minute=2, clock=ticks)
    assert [throttle.take("a") for _ in range(4)] == [0, 0, 0, 30]
    ticks.now = 29.0
    assert throttle.take("a") == 1
    ticks.now = 30.0
    assert throttle.take("a") == 0
    assert throttle.take("a") == 30
    ticks.now = 30.0 + 3 * 30  # idle: the bucket fills up to the burst, no further
    assert [throttle.take("a") for _ in range(4)] == [0, 0, 0, 30]


def test_clients_have_buckets_of_their_own() -> None:
    throttle = ClientThrottle(burst=1, per_minute=1, clock=Ticks())
    assert throttle.take("a") == 0
    assert throttle.take("a") == 60
    assert throttle.take("b") == 0


def test_refused_tries_do_not_push_the_wait_further() -> None:
    throttle = ClientThrottle(burst=1, per_minute=6, clock=Ticks())
    throttle.take("a")
    assert {throttle.take("a") for _ in range(20)} == {10}


def test_the_least_recently_seen_client_is_forgotten_first() -> None:
    throttle = ClientThrottle(burst=1, per_minute=1, clock=Ticks(), max_clients=2)
    for client in ("a", "b", "a", "c"):  # "b" is the least recently seen when "c" comes
        throttle.take(client)
    assert throttle.take("a") == 60  # still remembered
    assert throttle.take("b") == 0  # forgotten: a full bucket again


@pytest.mark.parametrize(("burst", "per_minute"), [(0, 1.0), (1, 0.0), (1, -2.0)])
def test_a_bucket_needs_a_burst_and_a_rate(burst: int, per_minute: float) -> None:
    with pytest.raises(ValueError, match="burst"):
        ClientThrottle(burst=burst, per_minute=per_minute)


class FakeRequest:
    def __init__(self, host: str | None) -> None:
        self.client = type("Client", (), {"host": host})() if host is not None else None


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same household
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_the_client_key(host: str | None, key: str) -> None:
    request: Any = FakeRequest(host)
    assert client_key(request) == key
