"""adapters.slots: a cap that holds across processes (Redis), frees a dead holder's slot after its
lease, and behaves the same in one process."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

from adapters.slots import LocalSlots, RedisSlots, slot_pool

ROOT = Path(__file__).resolve().parents[2]


async def _hold_many(pool, n: int, limit: int, release: asyncio.Event) -> list[bool]:
    results: list[bool] = []
    ready = asyncio.Event()

    async def one() -> None:
        async with pool.hold(limit) as taken:
            results.append(taken)
            if len(results) == n:
                ready.set()
            await release.wait()

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.wait_for(ready.wait(), 10)
    release.set()
    await asyncio.gather(*tasks)
    return results


async def test_local_slots_cap_and_release() -> None:
    pool = LocalSlots()
    results = await _hold_many(pool, 5, 3, asyncio.Event())
    assert sorted(results) == [False, False, True, True, True]
    assert await pool.count() == 0


async def test_redis_slots_cap_across_pools(redis_url: str) -> None:
    """Two pools on one Redis (two processes): 12 concurrent holders, limit 5 → exactly 5 taken."""
    pools = [RedisSlots(redis_url, "cap-test"), RedisSlots(redis_url, "cap-test")]
    results: list[bool] = []
    release, started = asyncio.Event(), asyncio.Event()

    async def one(pool: RedisSlots) -> None:
        async with pool.hold(5) as taken:
            results.append(taken)
            if len(results) == 12:
                started.set()
            await release.wait()

    tasks = [asyncio.create_task(one(pools[i % 2])) for i in range(12)]
    await asyncio.wait_for(started.wait(), 10)
    assert sorted(results).count(True) == 5
    assert await pools[0].count() == 5
    release.set()
    await asyncio.gather(*tasks)
    assert await pools[1].count() == 0
    for pool in pools:
        await pool.aclose()


def test_a_dead_holders_slot_frees_after_its_lease(redis_url: str) -> None:
    """A child process takes the only slot and is killed; the slot is free again within the lease."""
    code = ("import asyncio, sys\nfrom adapters.slots import RedisSlots\n"
            "async def main():\n"
            "    pool = RedisSlots(sys.argv[1], 'dead-test', lease_seconds=1.5)\n"
            "    async with pool.hold(1) as taken:\n"
            "        print('taken' if taken else 'refused', flush=True)\n"
            "        await asyncio.sleep(3600)\n"
            "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", code, redis_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "taken"
    finally:
        child.kill()
        child.wait()

    async def after() -> tuple[bool, bool]:
        pool = RedisSlots(redis_url, "dead-test", lease_seconds=1.5)
        try:
            async with pool.hold(1) as at_once:
                pass
            await asyncio.sleep(2.0)
            async with pool.hold(1) as later:
                pass
            return at_once, later
        finally:
            await pool.aclose()

    assert asyncio.run(after()) == (False, True)


def test_factory_follows_redis_url(redis_url: str) -> None:
    assert isinstance(slot_pool(None, "x"), LocalSlots)
    pool = slot_pool(redis_url, "x")
    assert isinstance(pool, RedisSlots)
    with contextlib.suppress(Exception):
        asyncio.run(pool.aclose())
