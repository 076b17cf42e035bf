"""Fixed-budget rate limiting over a moving one-minute window, with the ``limits`` library.

Counters live in process memory by default, or in Redis when a URL is given so several
server processes share one budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from limits import RateLimitItemPerMinute, storage, strategies


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one hit: allowed or not, the budget per minute, what remains, and the
    unix time (seconds) at which the window has room again."""

    allowed: bool
    limit: int
    remaining: int
    reset: int


class RateLimiter:
    """``hit(key, per_minute)`` consumes one unit of ``key``'s budget if any is left."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._storage = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
        backend = self._storage
        self._strategy = strategies.MovingWindowRateLimiter(backend)

    def hit(self, key: str, per_minute: int) -> RateDecision:
        """Consume one request of ``key`` under a ``per_minute`` budget (per_minute ≥ 1)."""
        item = RateLimitItemPerMinute(max(1, per_minute))
        allowed = self._strategy.hit(item, key)
        stats = self._strategy.get_window_stats(item, key)
        return RateDecision(allowed, item.amount, max(0, stats.remaining), math.ceil(stats.reset_time))

    def ping(self) -> bool:
        """True when the counter storage answers (always for in-memory counters)."""
        try:
            return bool(self._storage.check())
        except Exception:  # noqa: BLE001 - any storage failure means "not reachable"
            return False
