"""The SiteLLM Vertebro Voice service bundle.

Stores, the file store, the intent engine (its model loads lazily on first use), the background
work (jobs on the shared queue: training runs, the training sweep, the audio-cache cleaner) and
the open-WebSocket slots (``WS_MAX_CONNECTIONS`` deployment-wide: counted in Redis when
``REDIS_URL`` is set, else in this process). ``clock`` is the time source of every handler and
worker (tests replace it to move time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.jobs import Job
from adapters.slots import LocalSlots, SlotPool, slot_pool
from adapters.storage.vertebro_voice.access import Scope, VertebroAccessStore
from adapters.storage.vertebro_voice.files import LocalFileStore
from adapters.storage.vertebro_voice.sessions import (
    VertebroAudioStore,
    VertebroHistoryStore,
    VertebroIntentStore,
    VertebroSessionStore,
    VertebroUserStore,
)
from adapters.storage.vertebro_voice.training import VertebroJobStore, VertebroSampleStore
from adapters.storage.vertebro_voice.workers import AudioCacheCleaner, TrainingWorker
from core.clock import utcnow
from handlers.plugin import BundleSlot
from handlers.services import ApiBundle, Services

if TYPE_CHECKING:  # the engine and its model (NumPy) load in the background or on first use
    from adapters.providers.intents import IntentEngine

logger = logging.getLogger("handlers.vertebro_voice.bundle")

API = "vertebro-voice"
MOUNT = "/api/v1/voice"


@dataclass
class VertebroVoice(ApiBundle):
    """Stores, file store, intent engine and workers of the Vertebro Voice API."""

    users: VertebroUserStore
    access: VertebroAccessStore
    sessions: VertebroSessionStore
    history: VertebroHistoryStore
    audio: VertebroAudioStore
    intents: VertebroIntentStore
    samples: VertebroSampleStore
    jobs: VertebroJobStore
    files: LocalFileStore
    clock: Callable[[], datetime] = utcnow
    ws_slots: SlotPool = field(default_factory=LocalSlots)
    cleaner: AudioCacheCleaner | None = None
    worker: TrainingWorker | None = None
    train: Job[[str]] | None = None
    _engine: IntentEngine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        """The current instant (UTC) from :attr:`clock`."""
        return self.clock()

    def audio_fresh_after(self) -> datetime:
        """Cached audio last accessed before this instant has expired."""
        return self.now() - timedelta(seconds=self.settings.voice_audio_cache_ttl)

    async def scope(self, user: str | None) -> Scope:
        """What the Basic user ``user`` may see (:class:`Scope`: admin per ``VERTEBRO_ADMIN_USERS``
        or the database, and its project memberships). ``None`` (no authenticated user, which the
        security layer never lets through) sees nothing."""
        if not user:
            return Scope("", False, frozenset())
        return await self.access.scope(user, self.settings.vertebro_admin_users)

    def intent_engine(self) -> IntentEngine:
        """The intent engine (loads the sentence-embedding model on first call; blocking)."""
        with self._lock:
            if self._engine is None:
                from adapters.providers.embeddings import shared_encoder
                from adapters.providers.intents import IntentEngine

                self._engine = IntentEngine(shared_encoder())
            return self._engine

    def make_workers(self) -> None:
        """Create the audio-cache cleaner and the training worker."""
        s = self.settings
        self.cleaner = AudioCacheCleaner(self.audio, self.files, ttl_seconds=s.voice_audio_cache_ttl, clock=self.now)
        self.worker = TrainingWorker(self.jobs, self.samples, self.files, epochs=s.voice_training_epochs,
                                     step_delay=s.voice_training_step_delay, clock=self.now,
                                     min_samples=s.voice_min_sample_count,
                                     stale_after=s.voice_training_stale_seconds)

    async def run_training(self, job_id: str) -> None:
        """Queue a run of training job ``job_id`` (one process of the deployment takes it)."""
        if self.train is not None:
            await self.train.enqueue(job_id)

    def declare_jobs(self) -> None:
        """Declare this API's jobs on the shared queue: a training run per job id, a sweep every
        5 s that requeues jobs nobody runs (a dead process's, or never picked up), and the
        audio-cache cleaner every ``VOICE_AUDIO_CACHE_CLEANUP_INTERVAL`` seconds."""
        queue = self.queue

        @queue.job("vertebro.train")
        async def train(job_id: str) -> None:
            if self.worker is not None:
                await self.worker.run(job_id)

        @queue.every("vertebro.training-sweep", 5)
        async def sweep() -> None:
            if self.worker is not None:
                for job_id in await self.worker.sweep():
                    await train.enqueue(job_id)

        @queue.every("vertebro.audio-cache-cleaner", max(1, int(self.settings.voice_audio_cache_cleanup_interval)))
        async def clean() -> None:
            if self.cleaner is not None:
                removed = await self.cleaner.run_once()
                if removed:
                    logger.info("audio cache: removed %d expired entries", removed)

        self.train = train


def build(services: Services) -> VertebroVoice:
    """The bundle on ``services``' database and ``VOICE_FILE_STORAGE_DIR``."""
    db = services.db
    voice = VertebroVoice(
        services=services,
        users=VertebroUserStore(db),
        access=VertebroAccessStore(db),
        sessions=VertebroSessionStore(db),
        history=VertebroHistoryStore(db),
        audio=VertebroAudioStore(db),
        intents=VertebroIntentStore(db),
        samples=VertebroSampleStore(db),
        jobs=VertebroJobStore(db),
        files=LocalFileStore(services.settings.voice_file_storage_dir),
        ws_slots=slot_pool(services.settings.redis_url, "vertebro-ws"),
    )
    voice.make_workers()
    voice.declare_jobs()
    services.engines.add("embeddings", voice.intent_engine, provider="all-MiniLM-L6-v2",  # ~0.3 s to load
                         installed=_embedding_model_installed)
    return voice


def _embedding_model_installed() -> bool:
    from adapters.providers.embeddings import default_model_dir

    return default_model_dir() is not None


async def on_startup(voice: VertebroVoice) -> None:
    """Nothing to start: the shared job queue runs this API's jobs (interrupted training jobs are
    found by the sweep and resume from their checkpoints)."""


async def on_shutdown(voice: VertebroVoice) -> None:
    """Stop running training here; running jobs release their claim and resume in another
    process or after a restart. Release the slot pool's connections."""
    if voice.worker is not None:
        await voice.worker.stop()
    aclose = getattr(voice.ws_slots, "aclose", None)
    if aclose is not None:
        await aclose()


bundle: BundleSlot[VertebroVoice] = BundleSlot(API)
