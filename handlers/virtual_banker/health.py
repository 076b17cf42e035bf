"""Virtual Banker getHealth: real checks of the database and Redis, and the state of every engine."""

from __future__ import annotations

import anyio

from adapters.engines import UNAVAILABLE
from generated.models.virtual_banker import EngineHealth, HealthResponse, HealthServices
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.replies import now

#: HealthServices property → engine name of the server's warm-up (adapters/engines.py).
ENGINES = {"asr": "asr", "tts": "tts", "webrtc": "webrtc", "embeddings": "embeddings"}


async def get_health() -> HealthResponse:
    """``GET /health`` and ``GET /v1/health`` (getHealth, getHealthAtRoot; no credentials) →
    200 ``HealthResponse`` with each dependency's state.

    ``status`` is ``unhealthy`` when the database does not answer, ``degraded`` when an engine is
    unavailable or Redis does not answer, else ``healthy``. Engines (``asr``, ``tts``, ``webrtc``,
    ``embeddings``: those this server registered) report ``loading`` then ``ready`` while the
    background warm-up runs (``ENGINE_PRELOAD``), else ``available`` (installed, loads on first
    use); ``unavailable`` when not installed or failed to load; the LLM ``not_configured``.
    ``database`` is ``connected``/``disconnected``; ``redis`` is ``not_configured`` unless
    ``REDIS_URL`` is set. Nothing here waits for an engine or loads one.
    """
    s = bundle()
    db_ok = await anyio.to_thread.run_sync(s.db.ping)
    engines = s.services.engines
    reports: dict[str, EngineHealth] = {}
    for field, name in ENGINES.items():
        engine = engines.engine(name)
        if engine is None:
            continue
        state = engines.state(name)
        if state is None:  # no warm-up: is it installed? (may load a small library: off the event loop)
            state = await anyio.to_thread.run_sync(engines.probe, name)
        reports[field] = EngineHealth(provider=engine.provider, status=state)
    # No dialog engine is wired to the Virtual Banker API yet.
    llm = EngineHealth(provider="mock", status="not_configured")
    redis = "not_configured"
    if s.settings.redis_url:
        redis = "connected" if await s.limiter.ping() else "disconnected"
    status = "healthy"
    if any(report.status == UNAVAILABLE for report in reports.values()) or redis == "disconnected":
        status = "degraded"
    if not db_ok:
        status = "unhealthy"
    services = HealthServices(llm=llm, database="connected" if db_ok else "disconnected", redis=redis, **reports)
    return HealthResponse(status=status, services=services, timestamp=now())
