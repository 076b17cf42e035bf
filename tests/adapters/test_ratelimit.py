"""The in-process moving window: the same decisions as limits' moving window, on a fake clock."""

from __future__ import annotations

import pytest

import adapters.ratelimit as ratelimit
from adapters.ratelimit import RateLimiter


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_700_000_000.25}
    monkeypatch.setattr(ratelimit.time, "time", lambda: now["t"])
    return now


def test_budget_remaining_and_reset_follow_the_oldest_hit(clock):
    limiter = RateLimiter()
    decisions = [limiter.hit("k", 3) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.limit == 3 and d.reset == 1_700_000_061 for d in decisions)  # first hit + 60 s, rounded up
    clock["t"] += 30
    refused = limiter.hit("k", 3)
    assert not refused.allowed and refused.remaining == 0 and refused.reset == 1_700_000_061
    assert limiter.hit("other", 3).allowed  # keys are independent
    clock["t"] += 30.0  # the first three hits leave the window
    again = limiter.hit("k", 3)
    assert again.allowed and again.remaining == 2


def test_a_refused_hit_does_not_consume_budget(clock):
    limiter = RateLimiter()
    assert limiter.hit("k", 1).allowed
    for _ in range(5):
        clock["t"] += 10
        assert not limiter.hit("k", 1).allowed
    clock["t"] += 10.1  # 60.1 s after the only allowed hit
    assert limiter.hit("k", 1).allowed


def test_idle_keys_are_swept(clock):
    limiter = RateLimiter()
    for i in range(100):
        limiter.hit(f"k{i}", 5)
    clock["t"] += 61
    limiter.hit("fresh", 5)
    windows = limiter._memory
    assert windows is not None and set(windows._hits) == {"fresh"}
