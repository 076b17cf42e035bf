"""Vertebro ``GET /analytics/project/{project}`` (getProjectAnalytics)."""

from __future__ import annotations

from generated.models.vertebro_voice import ProjectAnalytics
from handlers.vertebro_voice.bundle import bundle
from handlers.vertebro_voice.guard import guarded
from handlers.vertebro_voice.sessions import member_project


@guarded
async def get_project_analytics(project: str, user: str | None = None) -> ProjectAnalytics:
    """→ 200 ``ProjectAnalytics`` counted from storage: ``sessions_total`` (sessions ever
    started for the project, deleted and expired ones included), ``interactions_total``
    (history items of those sessions), ``active_sessions`` (live now), and the WebSocket limits
    ``ws_max_connections`` / ``ws_ping_interval`` (seconds) in force. Zero counters for a
    project of the caller's without sessions; 404 ``project_not_found`` unless the caller is a
    member of ``project`` (or an admin); 503 ``mongo_unavailable``."""
    vertebro = bundle()
    member_project(await vertebro.scope(user), project)
    total, live = await vertebro.sessions.counts(project, vertebro.now())
    return ProjectAnalytics(
        project=project,
        sessions_total=total,
        interactions_total=await vertebro.history.count(project),
        active_sessions=live,
        ws_max_connections=vertebro.settings.ws_max_connections,
        ws_ping_interval=vertebro.settings.ws_ping_interval,
    )
