"""Virtual Banker getHealth: real checks of the database, Redis and the speech engines."""

from __future__ import annotations

import anyio

from core.clock import isoformat, utcnow
from handlers.virtual_banker.bundle import bundle


async def get_health():
    """``GET /health`` and ``GET /v1/health`` (getHealth) → 200 with each dependency's state.

    ``status`` is ``unhealthy`` when the database does not answer, ``degraded`` when a
    speech engine is unavailable, else ``healthy``. ``redis`` is ``not_configured``
    unless ``REDIS_URL`` is set.
    """
    s = bundle()
    db_ok = await anyio.to_thread.run_sync(s.db.ping)
    providers = s.providers
    engines = {
        "asr": ("mock", "available" if await anyio.to_thread.run_sync(providers.is_available, "asr", "mock")
                else "unavailable"),
        "tts": ("mock", "available" if await anyio.to_thread.run_sync(providers.is_available, "tts", "mock")
                else "unavailable"),
        # No dialog engine is wired to the Virtual Banker API yet.
        "llm": ("mock", "not_configured"),
    }
    redis = "not_configured"
    if s.settings.redis_url:
        redis = "connected" if await anyio.to_thread.run_sync(s.limiter.ping) else "disconnected"
    status = "healthy"
    if any(status == "unavailable" for _, status in engines.values()) or redis == "disconnected":
        status = "degraded"
    if not db_ok:
        status = "unhealthy"
    return {
        "status": status,
        "services": {
            **{kind: {"provider": name, "status": status} for kind, (name, status) in engines.items()},
            "database": "connected" if db_ok else "disconnected",
            "redis": redis,
        },
        "timestamp": isoformat(utcnow()),
    }, 200
