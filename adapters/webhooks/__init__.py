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

Modules: :mod:`.signing` (HMAC signatures and their verification), :mod:`.destinations` (which
URLs may be called, canonicalised once by the WHATWG rules; the SSRF guard; deliveries connect to
the address that was checked), :mod:`.dispatcher` (the background delivery worker over an
API's delivery log, a :class:`~adapters.webhooks.dispatcher.DeliveryStore`).
"""

from adapters.webhooks.destinations import (
    Destination,
    UnresolvableDestination,
    UnsafeDestination,
    UrlTooLong,
    check_destination,
    check_destinations,
    check_static,
)
from adapters.webhooks.dispatcher import DeliveryStore, WebhookDispatcher
from adapters.webhooks.signing import signature, verify

__all__ = ["DeliveryStore", "Destination", "UnresolvableDestination", "UnsafeDestination", "UrlTooLong",
           "WebhookDispatcher", "check_destination", "check_destinations", "check_static", "signature", "verify"]
