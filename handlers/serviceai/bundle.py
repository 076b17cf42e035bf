"""The ServiceAi adapters, built once per Services through ``services().extension("serviceai", …)``."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.providers.openai_realtime import RealtimeBackend
from adapters.storage.serviceai_auth import ServiceaiCsrfStore, ServiceaiUserStore
from adapters.storage.serviceai_records import ServiceaiRecordStore
from handlers.deps import Services, services


@dataclass
class ServiceaiBundle:
    """Stores of this API and its realtime backend (None when ``SERVICEAI_REALTIME_API_KEY`` is unset)."""

    users: ServiceaiUserStore
    csrf: ServiceaiCsrfStore
    records: ServiceaiRecordStore
    realtime: RealtimeBackend | None


def build(s: Services) -> ServiceaiBundle:
    """The bundle for ``s``: stores on its database, the realtime backend from its settings."""
    settings = s.settings
    realtime = None
    if settings.serviceai_realtime_api_key:
        realtime = RealtimeBackend(
            settings.serviceai_realtime_base_url,
            settings.serviceai_realtime_api_key,
            model=settings.serviceai_realtime_model,
            voice=settings.serviceai_realtime_voice,
            timeout=settings.serviceai_realtime_timeout_seconds,
        )
    return ServiceaiBundle(ServiceaiUserStore(s.db), ServiceaiCsrfStore(s.db), ServiceaiRecordStore(s.db), realtime)


def serviceai() -> ServiceaiBundle:
    """The installed services' ServiceAi bundle."""
    return services().extension("serviceai", build)
