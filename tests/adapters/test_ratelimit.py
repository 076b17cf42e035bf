"""adapters.ratelimit: moving-window budgets on the ``limits`` library's asyncio API, in process
memory and in Redis (one budget shared by two limiters, i.e. two processes)."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.ratelimit import CountersUnavailable, RateDecision, RateLimiter


async def test_budget_remaining_and_refusals_in_memory() -> None:
    limiter = RateLimiter()
    decisions = [await limiter.hit("k", 3) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[-1].limit == 3 and decisions[-1].reset >= time.time()
    assert 1 <= decisions[-1].retry_after() <= 60  # whole seconds, rounded up, never past the window
    assert (await limiter.hit("other", 3)).allowed  # budgets are per key


async def test_window_test_does_not_consume() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        assert (await limiter.test_window("w", 2, 10)).allowed
    assert (await limiter.hit_window("w", 2, 10)).allowed
    assert (await limiter.hit_window("w", 2, 10)).allowed
    assert not (await limiter.test_window("w", 2, 10)).allowed


async def test_two_limiters_on_one_redis_share_the_budget(redis_url: str) -> None:
    limiters = [RateLimiter(redis_url), RateLimiter(redis_url)]
    decisions = await asyncio.gather(*(limiters[i % 2].hit("shared-key", 7) for i in range(20)))
    assert sum(d.allowed for d in decisions) == 7
    assert await limiters[0].ping()


async def test_unreachable_redis_is_counters_unavailable() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    with pytest.raises(CountersUnavailable):
        await limiter.hit("k", 5)
    assert not await limiter.ping()


def test_retry_after_never_exceeds_the_window():
    # reset is already rounded up to whole seconds: a refusal just after the first hit of a
    # 600-s window must say 600, not 601 (found by CI on Virstack's login throttle)
    decision = RateDecision(allowed=False, limit=5, remaining=0, reset=1_700_000_601, window=600)
    assert decision.retry_after(now=1_700_000_000.2) == 600
    assert decision.retry_after(now=1_700_000_600.9) == 1
    assert decision.retry_after(now=1_700_000_700.0) == 1
    exact = RateDecision(allowed=False, limit=5, remaining=0, reset=1_700_000_601, window=600,
                         reset_at=1_700_000_600.2)
    assert exact.retry_after(now=1_700_000_000.5) == 600  # 599.7 s, rounded up
    assert exact.retry_after(now=1_700_000_000.1) == 600  # 600.1 s, but never past the window
