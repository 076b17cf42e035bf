"""The delivery worker: drains an API's delivery log, signs, POSTs, records, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
import httpx

from adapters.webhooks.destinations import UnsafeDestination, check_destination
from adapters.webhooks.signing import signature
from core.clock import utcnow

logger = logging.getLogger("adapters.webhooks")


class DeliveryStore(Protocol):
    """The delivery log a dispatcher drains (an API's own store, e.g. Virtual Banker's webhooks).

    Each due delivery has ``delivery_id``, ``url``, ``secret`` (or None), ``event``, ``body``
    (JSON text) and ``attempts`` so far.
    """

    async def due(self, now: datetime) -> list[Any]: ...

    async def next_due_at(self) -> datetime | None: ...

    async def mark_delivered(self, delivery_id: str, status: int, at: datetime) -> None: ...

    async def mark_failed_attempt(self, delivery_id: str, status: int | None, error: str,
                                  retry_at: datetime | None) -> None: ...


class WebhookDispatcher:
    """Drains the delivery log in the background: sign, POST, record, retry with backoff.

    ``base_delay`` and ``max_delay`` are seconds; ``max_attempts`` bounds retries; a 2xx
    answer is a delivery, anything else (or a network error) schedules a retry. Headers are
    named ``<header_prefix>Event``, ``…Delivery``, ``…Timestamp``, ``…Signature`` (the API's
    own prefix, e.g. Virtual Banker's ``X-VB-``).
    """

    def __init__(self, store: DeliveryStore, *, header_prefix: str = "X-VB-", allowed_networks: Iterable[str] = (),
                 base_delay: float = 1.0,
                 max_delay: float = 300.0, max_attempts: int = 6, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.header_prefix = header_prefix
        self.allowed_networks = list(allowed_networks)
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.timeout = timeout
        self.transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        """Look for due deliveries now (called after new events are enqueued)."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, transport=self.transport) as client:
            while True:
                try:
                    await self.drain(client)
                    next_at = await self.store.next_due_at()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the worker must survive a bad row or a DB hiccup
                    logger.exception("webhook dispatcher iteration failed")
                    next_at = None
                wait = 30.0 if next_at is None else max(0.0, (next_at - utcnow()).total_seconds())
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(wait, 30.0))

    async def drain(self, client: httpx.AsyncClient) -> int:
        """Send every delivery due now; returns how many were attempted."""
        due = await self.store.due(utcnow())
        for delivery in due:
            await self._attempt(client, delivery)
        return len(due)

    async def _attempt(self, client: httpx.AsyncClient, delivery) -> None:
        body = delivery.body.encode("utf-8")
        p = self.header_prefix
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "voice-gateway-webhooks/1",
                   f"{p}Event": delivery.event, f"{p}Delivery": delivery.delivery_id,
                   f"{p}Timestamp": str(timestamp)}
        if delivery.secret:
            headers[f"{p}Signature"] = signature(delivery.secret, timestamp, body)
        status: int | None = None
        try:
            destination = await anyio.to_thread.run_sync(check_destination, delivery.url, self.allowed_networks)
            url, pinned_headers, extensions = destination.pinned()  # connect to the address just checked
            response = await client.post(url, content=body, headers={**headers, **pinned_headers},
                                         extensions=extensions)
            status = response.status_code
            if 200 <= status < 300:
                await self.store.mark_delivered(delivery.delivery_id, status, utcnow())
                return
            error = f"HTTP {status}"
        except (httpx.HTTPError, UnsafeDestination) as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = delivery.attempts + 1
        retry_at = None
        if attempt < self.max_attempts:
            retry_at = utcnow() + timedelta(seconds=min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        logger.info("webhook delivery %s attempt %d failed: %s", delivery.delivery_id, attempt, error)
        await self.store.mark_failed_attempt(delivery.delivery_id, status, error, retry_at)
