"""The ServiceAi service bundle: its stores, its realtime backend and the shared adapters."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.providers.openai_realtime import RealtimeBackend
from adapters.storage.serviceai.auth import ServiceaiCsrfStore, ServiceaiUserStore
from adapters.storage.serviceai.records import ServiceaiRecordStore
from handlers.plugin import BundleSlot
from handlers.services import ApiBundle, Services

API = "serviceai"


@dataclass
class ServiceaiBundle(ApiBundle):
    """Stores of this API and its realtime backend (None when ``SERVICEAI_REALTIME_API_KEY`` is unset)."""

    users: ServiceaiUserStore
    csrf: ServiceaiCsrfStore
    records: ServiceaiRecordStore
    realtime: RealtimeBackend | None


def build(services: Services) -> ServiceaiBundle:
    """The bundle for ``services``: stores on its database, the realtime backend from its settings."""
    settings = services.settings
    realtime = None
    if settings.serviceai_realtime_api_key:
        realtime = RealtimeBackend(
            settings.serviceai_realtime_base_url,
            settings.serviceai_realtime_api_key,
            model=settings.serviceai_realtime_model,
            voice=settings.serviceai_realtime_voice,
            timeout=settings.serviceai_realtime_timeout_seconds,
        )
    db = services.db
    services.engines.prefetch("jsonschema")  # the tools' argument checks import it lazily
    return ServiceaiBundle(services, ServiceaiUserStore(db), ServiceaiCsrfStore(db), ServiceaiRecordStore(db), realtime)


async def on_shutdown(serviceai: ServiceaiBundle) -> None:
    """Close the realtime backend's HTTP client (re-created on the next mint)."""
    if serviceai.realtime is not None:
        await serviceai.realtime.aclose()


bundle: BundleSlot[ServiceaiBundle] = BundleSlot(API)
