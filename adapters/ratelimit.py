"""Fixed-budget rate limiting over a moving window (one minute, or any number of seconds), with
the ``limits`` library.

Counters live in process memory by default, or in Redis when a URL is given so several
server processes share one budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond, storage, strategies

from adapters.storage.database import StorageUnavailable

#: Seconds to wait for Redis to connect or answer before the counters count as unavailable.
REDIS_TIMEOUT = 1.0


class CountersUnavailable(StorageUnavailable):
    """The shared counters (Redis) cannot be reached: the limit cannot be checked. A
    StorageUnavailable, so every API answers it with its declared 503."""


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one hit: allowed or not, the budget per minute, what remains, and the
    unix time (seconds) at which the window has room again."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def retry_after(self, now: float | None = None) -> int:
        """Whole seconds (≥ 1) from ``now`` (Unix time, default the current time) until ``reset``:
        the ``Retry-After`` of a refusal."""
        current = time.time() if now is None else now
        return max(1, math.ceil(self.reset - current))


class RateLimiter:
    """``hit(key, per_minute)`` / ``hit_window(key, amount, seconds)`` consume one unit of
    ``key``'s budget if any is left; ``test_window`` only looks. Each raises
    :class:`CountersUnavailable` when Redis cannot be reached (within ``REDIS_TIMEOUT`` seconds)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._storage = (storage.storage_from_string(redis_url, socket_timeout=REDIS_TIMEOUT,
                                                     socket_connect_timeout=REDIS_TIMEOUT)
                         if redis_url else storage.MemoryStorage())
        backend = self._storage
        self._strategy = strategies.MovingWindowRateLimiter(backend)

    def hit(self, key: str, per_minute: int) -> RateDecision:
        """Consume one request of ``key`` under a ``per_minute`` budget (per_minute ≥ 1)."""
        return self._decide(RateLimitItemPerMinute(max(1, per_minute)), key, consume=True)

    def hit_window(self, key: str, amount: int, seconds: int) -> RateDecision:
        """Consume one unit of ``key``'s budget of ``amount`` per moving ``seconds``-second window."""
        return self._decide(RateLimitItemPerSecond(max(1, amount), max(1, seconds)), key, consume=True)

    def test_window(self, key: str, amount: int, seconds: int) -> RateDecision:
        """Whether ``key`` has room under ``amount`` per ``seconds`` seconds, consuming nothing."""
        return self._decide(RateLimitItemPerSecond(max(1, amount), max(1, seconds)), key, consume=False)

    def _decide(self, item: RateLimitItem, key: str, *, consume: bool) -> RateDecision:
        try:
            allowed = self._strategy.hit(item, key) if consume else self._strategy.test(item, key)
            stats = self._strategy.get_window_stats(item, key)
        except Exception as exc:  # noqa: BLE001 - redis/limits raise many types; all mean "unreachable"
            raise CountersUnavailable(f"rate-limit counters unavailable: {exc}") from exc
        return RateDecision(allowed, item.amount, max(0, stats.remaining), math.ceil(stats.reset_time))

    def ping(self) -> bool:
        """True when the counter storage answers (always for in-memory counters)."""
        try:
            return bool(self._storage.check())
        except Exception:  # noqa: BLE001 - any storage failure means "not reachable"
            return False
