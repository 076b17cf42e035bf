"""The adapters handlers use, built once by the gateway at start-up and installed here."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.providers.registry import ProviderRegistry
from adapters.ratelimit import RateLimiter
from adapters.realtime.peer import PeerManager
from adapters.secretbox import SecretBox
from adapters.storage.database import Database
from adapters.storage.vb_sessions import VbSessionStore, VbTenantStore
from adapters.storage.vb_voice import VbVoiceSessionStore, VbWebhookStore
from adapters.webhooks import WebhookDispatcher
from core.settings import Settings


@dataclass
class Services:
    """Everything a handler may call: settings and adapter instances."""

    settings: Settings
    db: Database
    vb_sessions: VbSessionStore
    vb_tenants: VbTenantStore
    vb_voice: VbVoiceSessionStore
    vb_webhooks: VbWebhookStore
    webhook_dispatcher: WebhookDispatcher
    providers: ProviderRegistry
    limiter: RateLimiter
    peers: PeerManager
    extensions: dict = field(default_factory=dict)

    def extension(self, key: str, factory):
        """A per-API adapter bundle built once from these services: ``factory(self)`` on first
        use, cached under ``key`` (each API package keeps its own stores this way)."""
        if key not in self.extensions:
            self.extensions[key] = factory(self)
        return self.extensions[key]

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Create the adapters for ``settings`` (no I/O beyond opening the database engine)."""
        db = Database(settings.database_url)
        webhooks = VbWebhookStore(db, SecretBox(settings.webhook_secret_key))
        return cls(
            settings=settings,
            db=db,
            vb_sessions=VbSessionStore(db),
            vb_tenants=VbTenantStore(db),
            vb_voice=VbVoiceSessionStore(db),
            vb_webhooks=webhooks,
            webhook_dispatcher=WebhookDispatcher(
                webhooks,
                allowed_networks=settings.webhook_allowed_networks,
                base_delay=settings.webhook_base_delay,
                max_attempts=settings.webhook_max_attempts,
            ),
            providers=ProviderRegistry(
                asr_model_dir=settings.asr_model_dir,
                asr_threads=settings.asr_threads,
                llm={"base_url": settings.llm_base_url, "api_key": settings.llm_api_key, "model": settings.llm_model},
                credentials={
                    "ELEVENLABS_API_KEY": settings.elevenlabs_api_key,
                    "AZURE_SPEECH_KEY": settings.azure_speech_key,
                    "AZURE_SPEECH_REGION": settings.azure_speech_region,
                    "DEEPGRAM_API_KEY": settings.deepgram_api_key,
                    "GOOGLE_SPEECH_API_KEY": settings.google_speech_api_key,
                },
            ),
            limiter=RateLimiter(settings.redis_url),
            peers=PeerManager(
                max_peers=settings.realtime_max_peers,
                idle_timeout=settings.realtime_idle_timeout,
                total_timeout=settings.realtime_total_timeout,
                ice_servers=settings.realtime_ice_servers,
                host_addresses=settings.realtime_host_addresses or None,
            ),
        )

    async def start(self) -> None:
        """Start background workers (needs a running event loop)."""
        self.webhook_dispatcher.start()

    async def stop(self) -> None:
        """Stop background workers and hang up every realtime peer."""
        await self.peers.close_all()
        await self.webhook_dispatcher.stop()

    def close(self) -> None:
        self.db.dispose()


_current: Services | None = None


def install(services: Services | None) -> None:
    """Make ``services`` the ones handlers see (the gateway calls this at start-up)."""
    global _current
    _current = services


def services() -> Services:
    """The installed services. Raises RuntimeError before the gateway installed them."""
    if _current is None:
        raise RuntimeError("handlers.deps.install() has not been called")
    return _current
