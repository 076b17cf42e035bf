"""A storage outage is a 503 in the calling API's envelope, never a 500 (issue 13 item 11).

:class:`~adapters.storage.database.StorageUnavailable` is what the adapters raise when the
database (``Database.run``: connection refused or lost, disk full, locked) or the shared
rate-limit counters (``RateLimiter`` on Redis) cannot do the work. Nothing was acknowledged to
the client, so nothing is lost: the client retries after ``Retry-After`` seconds. Every
operation declares this 503 (``tools/generate.py`` adds it beside 413/415/431); an API that
answers its own 503 first (with its own code) keeps it.
"""

from __future__ import annotations

import logging

from connexion.lifecycle import ConnexionRequest, ConnexionResponse

from adapters.storage.database import StorageUnavailable
from gateway.errors import ErrorRenderer

logger = logging.getLogger("gateway.outage")

#: Seconds a client should wait before retrying after a storage outage.
RETRY_AFTER_SECONDS = 5


def outage_handler(renderer: ErrorRenderer):  # type: ignore[no-untyped-def]
    """A connexion error handler for :class:`StorageUnavailable`: 503 ``SERVICE_UNAVAILABLE``
    with ``Retry-After`` in the routed API's envelope (see :class:`gateway.errors.ErrorRenderer`)."""

    async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, StorageUnavailable)
        logger.warning("storage unavailable on %s %s: %s", request.method, request.url.path, exc)
        return renderer.render(request, 503, "SERVICE_UNAVAILABLE",
                               "A storage service is temporarily unavailable; retry later",
                               headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    return handle
