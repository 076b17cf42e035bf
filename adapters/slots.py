"""Counted slots shared by every server process: "at most N of these open at once, deployment-wide".

For resources held for a while by one process — an open WebSocket, say — where a cap must hold
across processes and hosts, and a holder that dies must not keep its slot forever.

* :class:`LocalSlots` — one process (no ``REDIS_URL``): a counter in memory.
* :class:`RedisSlots` — a Redis sorted set per pool: member = slot id, score = lease expiry
  (unix seconds). Taking a slot is one Lua script (drop expired leases, count, add if below the
  limit), so two processes never both take the last slot; a holder renews its lease every
  ``lease_seconds / 3`` while it holds the slot (:meth:`Slot.hold`), so a slot of a dead process
  frees itself within ``lease_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Protocol

PREFIX = "voicegw:slots:"

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class SlotsUnavailable(RuntimeError):
    """The shared slot count cannot be read (Redis unreachable): the caller should refuse rather
    than overbook."""


class SlotPool(Protocol):
    """``async with pool.hold(limit) as taken:`` — ``taken`` is False when ``limit`` slots are
    already held deployment-wide (nothing was taken); the slot is released when the block exits."""

    def hold(self, limit: int) -> contextlib.AbstractAsyncContextManager[bool]:
        """Take a slot for the duration of the block if fewer than ``limit`` are held."""

    async def count(self) -> int:
        """Slots held now (live leases)."""


class LocalSlots:
    """:class:`SlotPool` within one process."""

    def __init__(self) -> None:
        self._held = 0

    @contextlib.asynccontextmanager
    async def hold(self, limit: int) -> AsyncIterator[bool]:
        """See :class:`SlotPool`."""
        if self._held >= limit:
            yield False
            return
        self._held += 1
        try:
            yield True
        finally:
            self._held -= 1

    async def count(self) -> int:
        """Slots held by this process."""
        return self._held


class RedisSlots:
    """:class:`SlotPool` named ``name`` in the Redis at ``url`` (see the module docstring).

    ``lease_seconds``: how long a slot survives its holder's death. :meth:`hold` raises
    :class:`SlotsUnavailable` when Redis cannot be reached.
    """

    def __init__(self, url: str, name: str, *, lease_seconds: float = 30.0) -> None:
        import redis.asyncio as aioredis  # only with REDIS_URL: ~50 ms of start-up otherwise

        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=5)
        self._key = PREFIX + name
        self.lease_seconds = lease_seconds
        self._acquire = self._redis.register_script(_ACQUIRE)

    @contextlib.asynccontextmanager
    async def hold(self, limit: int) -> AsyncIterator[bool]:
        """See :class:`SlotPool`; the lease is renewed in the background while held."""
        from redis.exceptions import RedisError

        member = secrets.token_hex(8)
        now = time.time()
        try:
            taken = await self._acquire(keys=[self._key], args=[now, limit, now + self.lease_seconds, member,
                                                                 int(self.lease_seconds * 4) + 1])
        except RedisError as exc:
            raise SlotsUnavailable(str(exc)) from exc
        if not taken:
            yield False
            return
        renewer = asyncio.get_running_loop().create_task(self._renew(member))
        try:
            yield True
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            with contextlib.suppress(Exception):  # an unreachable Redis: the lease expires by itself
                await self._redis.zrem(self._key, member)

    async def _renew(self, member: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with contextlib.suppress(Exception):
                await self._redis.zadd(self._key, {member: time.time() + self.lease_seconds}, xx=True)

    async def count(self) -> int:
        """Live leases in the pool, deployment-wide."""
        return int(await self._redis.zcount(self._key, time.time(), "+inf"))

    async def aclose(self) -> None:
        """Release the connection pool."""
        await self._redis.aclose()


def slot_pool(redis_url: str | None, name: str, *, lease_seconds: float = 30.0) -> LocalSlots | RedisSlots:
    """The pool ``name`` for this deployment: Redis when ``redis_url`` is set, else in-process."""
    return RedisSlots(redis_url, name, lease_seconds=lease_seconds) if redis_url else LocalSlots()
