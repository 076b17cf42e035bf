"""The delivery worker: sends an API's logged deliveries as jobs of the shared job queue.

Each delivery is one job (``<name>.deliver``, argument: the delivery id) run by whichever
process of the deployment takes it. The job claims the delivery row first (the store's
``claim``: one conditional UPDATE, with a lease), so a delivery is sent by one process at a
time; it signs, POSTs to the address its URL check resolved (no DNS-rebinding window), records
the answer, and for a failure schedules its own retry on the queue with exponential backoff
(``base_delay`` × 2ⁿ seconds, at most ``max_delay``, ``max_attempts`` in all). A periodic sweep
(``<name>.sweep``, every :data:`SWEEP_SECONDS`, one at a time across processes) re-enqueues
deliveries nobody holds: never picked up, or whose sender died with its claim (it lapses after
``lease_seconds``). A sender that dies after the receiver's 2xx but before recording it causes
one more delivery of the same ``…Delivery`` id: delivery is at least once, and receivers
de-duplicate on that header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
import httpx

from adapters.jobs import Job, JobQueue, worker_name
from adapters.webhooks.destinations import UnsafeDestination, check_destination
from adapters.webhooks.signing import signature
from core.clock import utcnow

logger = logging.getLogger("adapters.webhooks")

#: Seconds between sweeps for deliveries nobody holds.
SWEEP_SECONDS = 5


class DeliveryStore(Protocol):
    """The delivery log (an API's own store, e.g. Virtual Banker's webhooks).

    A claimed delivery has ``delivery_id``, ``url``, ``secret`` (or None), ``event``, ``body``
    (JSON text) and ``attempts`` so far.
    """

    async def claim(self, delivery_id: str, worker: str, now: datetime, lease_seconds: float) -> Any | None: ...

    async def stranded(self, now: datetime, grace_seconds: float) -> list[str]: ...

    async def mark_delivered(self, delivery_id: str, status: int, at: datetime) -> None: ...

    async def mark_failed_attempt(self, delivery_id: str, status: int | None, error: str,
                                  retry_at: datetime | None) -> None: ...


class WebhookDispatcher:
    """Sends deliveries as queue jobs: sign, POST, record, retry with backoff (module docstring).

    ``base_delay`` and ``max_delay`` are seconds; ``max_attempts`` bounds retries; a 2xx answer
    is a delivery, anything else (or a network error) schedules a retry. Headers are named
    ``<header_prefix>Event``, ``…Delivery``, ``…Timestamp``, ``…Signature`` (the API's own
    prefix, e.g. Virtual Banker's ``X-VB-``). ``name`` prefixes the queue's job names.
    """

    def __init__(self, store: DeliveryStore, queue: JobQueue, *, name: str, header_prefix: str,
                 allowed_networks: Iterable[str] = (), base_delay: float = 1.0, max_delay: float = 300.0,
                 max_attempts: int = 6, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.header_prefix = header_prefix
        self.allowed_networks = list(allowed_networks)
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.timeout = timeout
        self.lease_seconds = 3 * timeout  # the DNS check, the POST and the bookkeeping
        self.transport = transport
        self.worker = worker_name()
        self._client: httpx.AsyncClient | None = None
        self._deliver: Job[[str]] = queue.job(f"{name}.deliver")(self.deliver)
        queue.every(f"{name}.sweep", SWEEP_SECONDS)(self.sweep)

    async def dispatch(self, delivery_ids: Iterable[str]) -> None:
        """Queue the first attempt of each newly logged delivery. A queue failure is logged, not
        raised: the deliveries are logged and the sweep sends them."""
        for delivery_id in delivery_ids:
            try:
                await self._deliver.enqueue(delivery_id)
            except Exception:  # noqa: BLE001 - the log is durable; the sweep picks it up
                logger.warning("could not queue webhook delivery %s; the sweep will", delivery_id, exc_info=True)

    async def sweep(self) -> int:
        """Re-queue deliveries due for a sweep period that nobody holds; returns how many."""
        stranded = await self.store.stranded(utcnow(), SWEEP_SECONDS)
        await self.dispatch(stranded)
        return len(stranded)

    async def deliver(self, delivery_id: str) -> None:
        """The job: claim ``delivery_id`` and make one attempt (nothing when it is not due, done,
        or held by another process)."""
        delivery = await self.store.claim(delivery_id, self.worker, utcnow(), self.lease_seconds)
        if delivery is None:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, transport=self.transport)
        retry_in = await self._attempt(self._client, delivery)
        if retry_in is not None:
            await self._deliver.enqueue_after(retry_in, delivery_id)

    async def aclose(self) -> None:
        """Close the HTTP client (at shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _attempt(self, client: httpx.AsyncClient, delivery: Any) -> float | None:
        """One attempt; the seconds until the retry it scheduled, or None (delivered or given up)."""
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
                return None
            error = f"HTTP {status}"
        except (httpx.HTTPError, UnsafeDestination) as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = delivery.attempts + 1
        retry_in = None
        if attempt < self.max_attempts:
            retry_in = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        logger.info("webhook delivery %s attempt %d failed: %s", delivery.delivery_id, attempt, error)
        retry_at = utcnow() + timedelta(seconds=retry_in) if retry_in is not None else None
        await self.store.mark_failed_attempt(delivery.delivery_id, status, error, retry_at)
        return retry_in
