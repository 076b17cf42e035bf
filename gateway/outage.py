"""A storage outage is a 503 in the calling API's envelope, never a 500 (issue 13 item 11).

:class:`~adapters.storage.database.StorageUnavailable` is what the adapters raise when the
database (``Database.run``: connection refused or lost, disk full, locked) or the shared
rate-limit counters (``RateLimiter`` on Redis) cannot do the work. Nothing was acknowledged to
the client, so nothing is lost: the client retries after ``Retry-After`` seconds. Every
operation declares this 503 (``tools/generate.py`` adds it beside 413/415/431); an API that
answers its own 503 first (with its own code) keeps it. The pipeline
(:class:`gateway.pipeline.Pipeline`) turns the exception into :func:`outage_error`.
"""

from __future__ import annotations

import logging

from adapters.storage.database import StorageUnavailable
from handlers.errors import ApiError

logger = logging.getLogger("gateway.outage")

#: Seconds a client should wait before retrying after a storage outage.
RETRY_AFTER_SECONDS = 5


def outage_error(method: str, path: str, exc: StorageUnavailable) -> ApiError:
    """The 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` answering ``exc`` (logged)."""
    logger.warning("storage unavailable on %s %s: %s", method, path, exc)
    return ApiError(503, "SERVICE_UNAVAILABLE", "A storage service is temporarily unavailable; retry later",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
