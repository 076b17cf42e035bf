"""Fixed-budget rate limiting over a moving one-minute window.

Counters live in process memory by default (a deque of hit times per key), or in Redis when a
URL is given so several server processes share one budget (the ``limits`` library's
moving-window strategy).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
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


class _MovingWindows:
    """In-process moving one-minute windows: per key, the times of the hits it allowed.

    Same decisions as ``limits``' moving-window strategy over its memory storage, without what
    makes that storage costly on a request path: it starts a timer thread every 10 ms while hits
    arrive (on the caller's thread — here the event loop) and copies each key's list of events
    to expire them. A deque per key, trimmed from the old end on each hit, is O(1) amortized; a
    key with no hit in the last minute is dropped on the next sweep (at most one a minute).
    """

    WINDOW = 60.0

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.time() + self.WINDOW

    def hit(self, key: str, per_minute: int) -> RateDecision:
        now = time.time()
        start = now - self.WINDOW
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(start)
                self._next_sweep = now + self.WINDOW
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= start:
                hits.popleft()
            allowed = len(hits) < per_minute
            if allowed:
                hits.append(now)
            oldest = hits[0] if hits else now
            return RateDecision(allowed, per_minute, max(0, per_minute - len(hits)), math.ceil(oldest + self.WINDOW))

    def _sweep(self, start: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= start]:
            del self._hits[key]


class RateLimiter:
    """``hit(key, per_minute)`` consumes one unit of ``key``'s budget if any is left.

    Counters live in this process (:class:`_MovingWindows`) unless a Redis URL is given; then
    ``limits``' moving-window strategy keeps them in Redis, shared by every server process.
    """

    def __init__(self, redis_url: str | None = None) -> None:
        self._memory = None if redis_url else _MovingWindows()
        self._storage = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
        self._strategy = strategies.MovingWindowRateLimiter(self._storage)

    def hit(self, key: str, per_minute: int) -> RateDecision:
        """Consume one request of ``key`` under a ``per_minute`` budget (per_minute ≥ 1).

        Returns the decision: allowed or not, the budget, what remains in the window and the
        Unix time (s, rounded up) when the window has room again."""
        if self._memory is not None:
            return self._memory.hit(key, max(1, per_minute))
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
