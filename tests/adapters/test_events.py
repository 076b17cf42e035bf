"""adapters.events: an event published by one process reaches subscribers in another
(Redis pub/sub on a real redis-server), and the in-process bus behaves the same."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from adapters.events import LocalEventBus, RedisEventBus, event_bus

ROOT = Path(__file__).resolve().parents[2]


async def _first(bus, channel: str, started: asyncio.Event) -> dict:
    async with bus.subscribe(channel) as messages:
        started.set()
        async for message in messages:
            return message
    raise AssertionError("subscription ended")


async def test_local_bus_fans_out_to_every_subscriber_of_the_channel() -> None:
    bus = LocalEventBus()
    ready = [asyncio.Event(), asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(_first(bus, ch, ev)) for ch, ev in zip(("a", "a", "b"), ready, strict=True)]
    await asyncio.gather(*(e.wait() for e in ready))
    await bus.publish("a", {"n": 1})
    await bus.publish("b", {"n": 2})
    assert await asyncio.gather(*tasks) == [{"n": 1}, {"n": 1}, {"n": 2}]
    assert bus._fanout.queues == {}  # subscriptions end with their context


async def test_redis_bus_delivers_across_buses_and_only_on_the_channel(redis_url: str) -> None:
    publisher, subscriber = RedisEventBus(redis_url), RedisEventBus(redis_url)
    try:
        ready = asyncio.Event()
        task = asyncio.create_task(_first(subscriber, "vb.session:s1", ready))
        await ready.wait()
        await publisher.publish("vb.session:other", {"event": "ended"})
        await publisher.publish("vb.session:s1", {"event": "ended", "session_id": "s1"})
        assert await asyncio.wait_for(task, 5) == {"event": "ended", "session_id": "s1"}
    finally:
        await publisher.aclose()
        await subscriber.aclose()


def test_redis_bus_reaches_another_process_within_a_second(redis_url: str) -> None:
    """A subscriber in a child process hears an event published here; measured, then bounded
    loosely (pub/sub on loopback takes milliseconds; 1 s is the deployment's promise)."""
    code = (
        "import asyncio, json, sys, time\n"
        "from adapters.events import RedisEventBus\n"
        "async def main():\n"
        "    bus = RedisEventBus(sys.argv[1])\n"
        "    async with bus.subscribe('vertebro.session:x') as messages:\n"
        "        print('ready', flush=True)\n"
        "        async for m in messages:\n"
        "            print(json.dumps({**m, 'heard': time.time()}), flush=True); break\n"
        "    await bus.aclose()\n"
        "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", code, redis_url], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"

        async def send() -> float:
            bus = RedisEventBus(redis_url)
            try:
                sent = time.time()
                await bus.publish("vertebro.session:x", {"event": "deleted"})
                return sent
            finally:
                await bus.aclose()

        sent = asyncio.run(send())
        line = child.stdout.readline()
        heard = json.loads(line)
        assert heard["event"] == "deleted"
        assert heard["heard"] - sent < 1.0
    finally:
        child.kill()
        child.wait()


def test_event_bus_factory_follows_redis_url(redis_url: str) -> None:
    assert isinstance(event_bus(None), LocalEventBus)
    bus = event_bus(redis_url)
    assert isinstance(bus, RedisEventBus)
    asyncio.run(bus.aclose())
