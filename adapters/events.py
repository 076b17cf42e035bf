"""Events between server processes: publish on one, every subscriber on every process hears it.

Realtime peers and sockets live in the process that accepted them; the request that ends a
session, refreshes its token or deletes it may land on another process (or host). Such requests
publish an event on a channel named after the resource (e.g. ``vb.session:<id>``); the process
holding the peer has subscribed to it and closes or updates the peer.

* :class:`LocalEventBus` — one process (the embedded default): an in-memory fan-out.
* :class:`RedisEventBus` — ``REDIS_URL`` set: Redis pub/sub (``redis.asyncio``), one
  connection per process shared by all of its subscriptions, messages fanned out locally.

Delivery is at most once, to subscribers present at publish time (pub/sub semantics): a process
that was down misses the event, so a subscriber also checks the resource's state when it
subscribes (and the database stays the truth). Messages are JSON objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

logger = logging.getLogger("adapters.events")

#: Channel prefix in Redis, so one Redis can serve other applications too.
PREFIX = "voicegw:"


class EventBus(Protocol):
    """Publish JSON objects on named channels; subscribe to a channel as an async iterator."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``channel`` on every process."""

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """``async with bus.subscribe(ch) as messages: async for m in messages: …`` — the
        subscription is live when the ``async with`` body starts and ends when it exits."""

    async def aclose(self) -> None:
        """Stop delivering and release connections (at shutdown)."""


class _Fanout:
    """Local subscribers per channel: each gets its own unbounded queue."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        for queue in self.queues.get(channel, ()):
            queue.put_nowait(message)

    def add(self, channel: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queues.setdefault(channel, set()).add(queue)
        return queue

    def remove(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> bool:
        """Drop ``queue``; True when ``channel`` has no local subscriber left."""
        subscribers = self.queues.get(channel, set())
        subscribers.discard(queue)
        if not subscribers:
            self.queues.pop(channel, None)
            return True
        return False


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()


class LocalEventBus:
    """:class:`EventBus` within one process."""

    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to this process's subscribers of ``channel``."""
        self._fanout.deliver(channel, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Messages published on ``channel`` while the context is open."""
        queue = self._fanout.add(channel)
        try:
            yield _drain(queue)
        finally:
            self._fanout.remove(channel, queue)

    async def aclose(self) -> None:
        """Nothing to release."""


class RedisEventBus:
    """:class:`EventBus` over Redis pub/sub, shared by every process and host using ``url``.

    One pub/sub connection per process carries all of its channels; a reader task hands each
    message to the local subscribers. If the connection drops, the reader reconnects and
    re-subscribes (events published meanwhile are lost, as pub/sub loses them).
    """

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis  # only with REDIS_URL: ~50 ms of start-up otherwise

        self._redis = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5,
                                              health_check_interval=30)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._fanout = _Fanout()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """``PUBLISH`` ``message`` (JSON) on ``channel``. Raises ``redis.RedisError`` when Redis
        cannot be reached."""
        await self._redis.publish(PREFIX + channel, json.dumps(message, separators=(",", ":")))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Messages published on ``channel`` (by any process) while the context is open; the
        Redis subscription is confirmed before the body starts."""
        async with self._lock:
            first = channel not in self._fanout.queues
            queue = self._fanout.add(channel)
            if first:
                try:
                    await self._pubsub.subscribe(PREFIX + channel)
                except Exception as exc:  # noqa: BLE001 - Redis down: the reader re-subscribes when it is back
                    logger.warning("event bus: could not subscribe to %s (%s); will retry", channel, exc)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            yield _drain(queue)
        finally:
            async with self._lock:
                if self._fanout.remove(channel, queue):
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(PREFIX + channel)

    async def _read(self) -> None:
        while True:
            try:
                if not self._fanout.queues:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dropped connection: retry, keep the process up
                logger.warning("event bus: Redis pub/sub failed (%s); reconnecting", exc)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self._pubsub.subscribe(*(PREFIX + c for c in list(self._fanout.queues)))
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = str(message["channel"])[len(PREFIX):]
            try:
                payload = json.loads(message["data"])
            except (TypeError, ValueError):
                logger.warning("event bus: dropped a non-JSON message on %s", channel)
                continue
            if isinstance(payload, dict):
                self._fanout.deliver(channel, payload)

    async def aclose(self) -> None:
        """Stop the reader and close both connections."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()


def event_bus(redis_url: str | None) -> LocalEventBus | RedisEventBus:
    """The bus for this deployment: Redis pub/sub when ``redis_url`` is set, else in-process."""
    return RedisEventBus(redis_url) if redis_url else LocalEventBus()
