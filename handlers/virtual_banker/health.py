"""Virtual Banker getHealth: real checks of the database, Redis and the speech engines."""

from __future__ import annotations

import anyio

from generated.models.virtual_banker import EngineHealth, HealthResponse, HealthServices
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.replies import now


async def get_health() -> HealthResponse:
    """``GET /health`` and ``GET /v1/health`` (getHealth, getHealthAtRoot; no credentials) →
    200 ``HealthResponse`` with each dependency's state.

    ``status`` is ``unhealthy`` when the database does not answer, ``degraded`` when a
    speech engine is unavailable or Redis does not answer, else ``healthy``. Engines report
    ``available``/``unavailable`` (the LLM ``not_configured``); ``database``
    ``connected``/``disconnected``; ``redis`` is ``not_configured`` unless ``REDIS_URL`` is set.
    """
    s = bundle()
    db_ok = await anyio.to_thread.run_sync(s.db.ping)
    providers = s.providers
    asr_ok = await anyio.to_thread.run_sync(providers.is_available, "asr", "mock")
    tts_ok = await anyio.to_thread.run_sync(providers.is_available, "tts", "mock")
    asr = EngineHealth(provider="mock", status="available" if asr_ok else "unavailable")
    tts = EngineHealth(provider="mock", status="available" if tts_ok else "unavailable")
    # No dialog engine is wired to the Virtual Banker API yet.
    llm = EngineHealth(provider="mock", status="not_configured")
    redis = "not_configured"
    if s.settings.redis_url:
        redis = "connected" if await s.limiter.ping() else "disconnected"
    status = "healthy"
    if not (asr_ok and tts_ok) or redis == "disconnected":
        status = "degraded"
    if not db_ok:
        status = "unhealthy"
    services = HealthServices(asr=asr, tts=tts, llm=llm, database="connected" if db_ok else "disconnected",
                              redis=redis)
    return HealthResponse(status=status, services=services, timestamp=now())
