"""The in-process sliding-window rate limiter."""
from __future__ import annotations

import pytest

from syncreg import RATE_LIMITS
from syncreg.ratelimit import RULES, MemoryRateLimiter, RateLimited, Rule


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_every_rule_has_default_settings():
    assert set(RATE_LIMITS) == set(RULES)


def test_sliding_window(clock):
    limiter = MemoryRateLimiter({"r": Rule(3, 60)}, clock=clock)
    for _ in range(3):
        limiter.check("r", "k")
        limiter.hit("r", "k")
        clock.now += 10
    # Events at 1000, 1010, 1020; now 1030: the oldest leaves the window at 1060.
    assert limiter.retry_after("r", "k") == pytest.approx(30)
    with pytest.raises(RateLimited) as caught:
        limiter.check("r", "k")
    assert caught.value.retry_after == 30
    limiter.check("r", "other key")
    clock.now = 1060
    assert limiter.retry_after("r", "k") is None
    limiter.hit("r", "k")
    assert limiter.retry_after("r", "k") == pytest.approx(10)  # 1010 leaves at 1070


def test_zero_limit_and_unknown_rules_do_not_limit(clock):
    limiter = MemoryRateLimiter({"off": Rule(0, 60)}, clock=clock)
    for _ in range(100):
        limiter.hit("off", "k")
        limiter.hit("unknown", "k")
    limiter.check("off", "k")
    limiter.check("unknown", "k")


def test_memory_is_bounded(clock):
    limiter = MemoryRateLimiter({"r": Rule(1, 60)}, max_keys=10, clock=clock)
    for number in range(50):
        limiter.hit("r", f"key{number}")
    assert limiter.retry_after("r", "key49") is not None
    assert limiter.retry_after("r", "key0") is None  # dropped as the oldest
    limiter.clear()
    assert limiter.retry_after("r", "key49") is None


def test_retry_after_is_at_least_one_second(clock):
    limiter = MemoryRateLimiter({"r": Rule(1, 0.5)}, clock=clock)
    limiter.hit("r", "k")
    with pytest.raises(RateLimited) as caught:
        limiter.check("r", "k")
    assert caught.value.retry_after == 1
