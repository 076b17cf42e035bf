"""Virtual Banker getHealth: real checks of the database, Redis and the speech engines."""

from __future__ import annotations

import anyio

from adapters.providers.availability import asr_status, llm_status, tts_status
from core.clock import isoformat, utcnow
from handlers.deps import services


async def get_health():
    """``GET /health`` and ``GET /v1/health`` (getHealth) → 200 with each dependency's state.

    ``status`` is ``unhealthy`` when the database does not answer, ``degraded`` when a
    speech engine is unavailable, else ``healthy``. ``redis`` is ``not_configured``
    unless ``REDIS_URL`` is set.
    """
    s = services()
    db_ok = await anyio.to_thread.run_sync(s.db.ping)
    engines = {"asr": asr_status(), "tts": tts_status(), "llm": llm_status()}
    redis = "not_configured"
    if s.settings.redis_url:
        redis = "connected" if await anyio.to_thread.run_sync(s.limiter.ping) else "disconnected"
    status = "healthy"
    if any(e.status == "unavailable" for e in engines.values()) or redis == "disconnected":
        status = "degraded"
    if not db_ok:
        status = "unhealthy"
    return {
        "status": status,
        "services": {
            **{kind: {"provider": e.provider, "status": e.status} for kind, e in engines.items()},
            "database": "connected" if db_ok else "disconnected",
            "redis": redis,
        },
        "timestamp": isoformat(utcnow()),
    }, 200
