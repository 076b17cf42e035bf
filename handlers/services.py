"""The adapters every API shares, built once per server by the gateway.

An API's own stores and engines live in its service bundle (``handlers/<api>/bundle.py``),
built from these by the API's plugin; handlers reach both through their bundle only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.engines import EngineWarmup
from adapters.events import EventBus, event_bus
from adapters.jobs import JobQueue
from adapters.providers.registry import ProviderRegistry
from adapters.ratelimit import RateLimiter
from adapters.realtime.peer import PeerManager
from adapters.storage.database import Database
from core.settings import Settings


@dataclass
class Services:
    """Settings and the shared adapter instances: database, voice providers, rate limiter,
    realtime peers, the event bus between server processes, the background job queue and the
    heavy engines' background warm-up (``engines``: ``tts``, ``asr``, ``webrtc``; an API's
    bundle may add its own)."""

    settings: Settings
    db: Database
    providers: ProviderRegistry
    limiter: RateLimiter
    peers: PeerManager
    events: EventBus
    jobs: JobQueue
    engines: EngineWarmup = field(default_factory=EngineWarmup)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Create the shared adapters for ``settings`` (no I/O beyond opening the database engine)."""
        services = cls(
            settings=settings,
            db=Database(settings.database_url),
            providers=ProviderRegistry(
                asr_model_dir=settings.asr_model_dir,
                asr_threads=settings.asr_threads,
                speech_workers=settings.speech_workers,
                speech_queue=settings.speech_queue,
                speech_per_caller=settings.speech_per_caller,
                asr_max_compute_seconds=settings.asr_max_compute_seconds,
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
            events=event_bus(settings.redis_url),
            jobs=JobQueue(settings.database_url, workers=settings.job_workers),
        )
        providers = services.providers
        services.engines.add("tts", lambda: providers.load("tts"), provider="mock",
                             installed=lambda: providers.is_available("tts", "mock"))
        services.engines.add("asr", lambda: providers.load("asr"), provider="mock",
                             installed=lambda: providers.is_available("asr", "mock"))
        services.engines.add("webrtc", services.peers.load, provider="aiortc", installed=services.peers.installed)
        return services

    def __post_init__(self) -> None:
        self.engines.freeze_after = self.settings.gc_freeze

    async def start(self) -> None:
        """After every API declared its jobs and engines (in ``build``): start this process's job
        consumer and, with ``ENGINE_PRELOAD``, the engines' warm-up — both in the background, so
        the server answers its first request without waiting for either (a job enqueued
        meanwhile waits for the queue's storage; a request needing an engine for its load)."""
        if self.settings.engine_preload:
            self.engines.start()
        self.jobs.start_in_background()

    async def stop(self) -> None:
        """Hang up every realtime peer (at shutdown, after the APIs stopped their own work) and
        leave the event bus. Running jobs are cancelled (their work is persisted and resumes in
        another process or after a restart)."""
        self.engines.stop()
        await self.jobs.stop()
        await self.peers.close_all()
        await self.events.aclose()

    def close(self) -> None:
        """Release the database engine and the speech executor."""
        self.providers.shutdown()
        self.db.dispose()


@dataclass
class ApiBundle:
    """Base of every API's service bundle: the shared adapters, reachable as attributes.

    An API's bundle (``handlers/<api>/bundle.py``) subclasses this and adds its own stores and
    engines; handlers use only their bundle.
    """

    services: Services

    @property
    def settings(self) -> Settings:
        """The server's settings."""
        return self.services.settings

    @property
    def db(self) -> Database:
        """The shared database."""
        return self.services.db

    @property
    def providers(self) -> ProviderRegistry:
        """TTS, ASR, LLM and embedding engines."""
        return self.services.providers

    @property
    def limiter(self) -> RateLimiter:
        """Shared rate-limit counters (Redis when ``REDIS_URL`` is set)."""
        return self.services.limiter

    @property
    def peers(self) -> PeerManager:
        """The realtime (WebRTC) peers of this process."""
        return self.services.peers

    @property
    def queue(self) -> JobQueue:
        """The background job queue shared by every process (declare jobs in ``build``)."""
        return self.services.jobs

    @property
    def events(self) -> EventBus:
        """Events between server processes (Redis pub/sub when ``REDIS_URL`` is set)."""
        return self.services.events
