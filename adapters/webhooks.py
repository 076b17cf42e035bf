"""Outbound webhooks: signing, destination policy (SSRF guard), and the delivery worker.

Every delivery is a JSON ``POST`` with these headers:

- ``X-VB-Event``: event name, e.g. ``transcription.complete``
- ``X-VB-Delivery``: delivery id (stable across retries; receivers can de-duplicate on it)
- ``X-VB-Timestamp``: unix time in seconds when this attempt was signed
- ``X-VB-Signature``: ``sha256=<hex>`` — HMAC-SHA256 with the webhook's secret over
  ``f"{timestamp}.{raw body}"`` (absent when the webhook was registered without a secret)

Verification recipe: take the raw body bytes and the ``X-VB-Timestamp`` header, compute
``hmac.new(secret, f"{ts}.".encode() + body, sha256).hexdigest()``, compare with
``hmac.compare_digest`` to the hex after ``sha256=``, and reject timestamps more than five
minutes old. Retries use exponential backoff (``base_delay * 2**attempt``, capped) up to a
bounded number of attempts; the log lives in the database, so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

import anyio
import httpx

from adapters.storage.vb_voice import VbWebhookStore
from core.clock import utcnow

logger = logging.getLogger("adapters.webhooks")


class UnsafeDestination(ValueError):
    """The webhook URL is not http(s) or resolves to a loopback/private/link-local/reserved address."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str, *, tolerance: float = 300.0) -> bool:
    """The receiver-side check of :func:`signature` (also used by the tests)."""
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class UnresolvableDestination(UnsafeDestination):
    """The webhook host does not resolve (now)."""


def _resolve(host: str, port: int) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableDestination(f"cannot resolve {host!r}: {exc}") from None


def check_destination(url: str, allowed_networks: Iterable[str] = (), *, require_resolvable: bool = True) -> None:
    """Refuse a webhook URL that could reach the server's own network.

    Raises :class:`UnsafeDestination` unless the scheme is http/https and every address the
    host resolves to is public — or inside one of ``allowed_networks`` (CIDRs, e.g.
    ``127.0.0.1/32`` in tests; setting ``WEBHOOK_ALLOWED_NETWORKS``). With
    ``require_resolvable=False`` (at registration) a host that does not resolve yet passes;
    every delivery checks again, so a later resolution to a private address is still refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("webhook URL must be http(s) with a host")
    if parts.username or parts.password:
        raise UnsafeDestination("webhook URL must not carry credentials")
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("webhook URL has an invalid port") from None
    try:
        addresses = _resolve(parts.hostname, port)
    except UnresolvableDestination:
        if require_resolvable:
            raise
        return
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in net for net in allowed):
            continue
        if not ip.is_global or ip.is_multicast:
            raise UnsafeDestination(f"webhook host {parts.hostname!r} resolves to non-public address {ip}")


class WebhookDispatcher:
    """Drains the delivery log in the background: sign, POST, record, retry with backoff.

    ``base_delay`` and ``max_delay`` are seconds; ``max_attempts`` bounds retries; a 2xx
    answer is a delivery, anything else (or a network error) schedules a retry.
    """

    def __init__(self, store: VbWebhookStore, *, allowed_networks: Iterable[str] = (), base_delay: float = 1.0,
                 max_delay: float = 300.0, max_attempts: int = 6, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
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
            try:
                await self._task
            except asyncio.CancelledError:
                pass
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
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=min(wait, 30.0))
                except asyncio.TimeoutError:
                    pass

    async def drain(self, client: httpx.AsyncClient) -> int:
        """Send every delivery due now; returns how many were attempted."""
        due = await self.store.due(utcnow())
        for delivery in due:
            await self._attempt(client, delivery)
        return len(due)

    async def _attempt(self, client: httpx.AsyncClient, delivery) -> None:
        body = delivery.body.encode("utf-8")
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "voice-gateway-webhooks/1",
                   "X-VB-Event": delivery.event, "X-VB-Delivery": delivery.delivery_id,
                   "X-VB-Timestamp": str(timestamp)}
        if delivery.secret:
            headers["X-VB-Signature"] = signature(delivery.secret, timestamp, body)
        status: int | None = None
        try:
            await anyio.to_thread.run_sync(check_destination, delivery.url, self.allowed_networks)
            response = await client.post(delivery.url, content=body, headers=headers)
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
