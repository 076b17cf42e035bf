"""Fixed-budget rate limiting over a moving window (one minute, or any number of seconds), with
the ``limits`` library's asyncio API.

Counters live in process memory by default, or in Redis when a URL is given so several
server processes share one budget. Every call is awaited on the event loop with a deadline:
Redis slow or unreachable never blocks the server, it makes the call raise
:class:`CountersUnavailable` (a StorageUnavailable: the API's declared 503).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar, cast

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond, storage
from limits.aio import strategies
from limits.aio.storage import Storage as AsyncStorage

from adapters.storage.database import StorageUnavailable

#: Seconds to wait for Redis to connect or answer before the counters count as unavailable.
REDIS_TIMEOUT = 1.0

T = TypeVar("T")


class CountersUnavailable(StorageUnavailable):
    """The shared counters (Redis) cannot be reached: the limit cannot be checked. A
    StorageUnavailable, so every API answers it with its declared 503."""


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one hit: allowed or not, the budget of the window, what remains, the unix time
    (whole seconds, rounded up: the ``X-RateLimit-Reset`` header) at which the window has room
    again, the window's length (seconds), and that time unrounded (``reset_at``; ``reset`` when
    not given)."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    window: int = 60
    reset_at: float | None = None

    def retry_after(self, now: float | None = None) -> int:
        """Whole seconds from ``now`` (Unix time, default the current time) until the window has
        room, rounded up (never early), at least 1 and at most the window: the ``Retry-After`` of a
        refusal. (Rounding the already rounded ``reset`` up again said 601 on a 600-s window.)"""
        current = time.time() if now is None else now
        until = self.reset if self.reset_at is None else self.reset_at
        return min(self.window, max(1, math.ceil(until - current)))


class RateLimiter:
    """``hit(key, per_minute)`` / ``hit_window(key, amount, seconds)`` consume one unit of
    ``key``'s budget if any is left; ``test_window`` only looks. All are coroutines; each raises
    :class:`CountersUnavailable` when Redis does not answer within ``REDIS_TIMEOUT`` seconds."""

    def __init__(self, redis_url: str | None = None) -> None:
        if redis_url:
            backend = storage.storage_from_string("async+" + redis_url, implementation="redispy",
                                                  socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        else:
            backend = storage.storage_from_string("async+memory://")
        self._storage = cast(AsyncStorage, backend)
        self._strategy = strategies.MovingWindowRateLimiter(self._storage)

    async def hit(self, key: str, per_minute: int) -> RateDecision:
        """Consume one request of ``key`` under a ``per_minute`` budget (per_minute ≥ 1)."""
        return await self._decide(RateLimitItemPerMinute(max(1, per_minute)), key, consume=True)

    async def hit_window(self, key: str, amount: int, seconds: int) -> RateDecision:
        """Consume one unit of ``key``'s budget of ``amount`` per moving ``seconds``-second window."""
        return await self._decide(RateLimitItemPerSecond(max(1, amount), max(1, seconds)), key, consume=True)

    async def test_window(self, key: str, amount: int, seconds: int) -> RateDecision:
        """Whether ``key`` has room under ``amount`` per ``seconds`` seconds, consuming nothing."""
        return await self._decide(RateLimitItemPerSecond(max(1, amount), max(1, seconds)), key, consume=False)

    async def _bounded(self, call: Awaitable[T]) -> T:
        # asyncio.timeout, not wait_for: the call runs in the caller's task (wait_for on 3.11
        # wraps it in a task of its own, ~10 µs of CPU on every hit of every request).
        try:
            async with asyncio.timeout(2 * REDIS_TIMEOUT):
                return await call
        except Exception as exc:  # noqa: BLE001 - redis/limits raise many types; all mean "unreachable"
            raise CountersUnavailable(f"rate-limit counters unavailable: {exc!r}") from exc

    async def _decide(self, item: RateLimitItem, key: str, *, consume: bool) -> RateDecision:
        allowed = await self._bounded(self._strategy.hit(item, key) if consume else self._strategy.test(item, key))
        stats = await self._bounded(self._strategy.get_window_stats(item, key))
        return RateDecision(allowed, item.amount, max(0, stats.remaining), math.ceil(stats.reset_time),
                            item.get_expiry(), stats.reset_time)

    async def ping(self) -> bool:
        """True when the counter storage answers (always for in-memory counters)."""
        try:
            return bool(await self._bounded(self._storage.check()))
        except CountersUnavailable:
            return False
