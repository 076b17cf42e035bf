"""The SiteLLM Vertebro Voice service bundle.

Stores, the file store, the intent engine (its model loads lazily on first use), the background
workers and the process-wide WebSocket connection count. ``clock`` is the time source of every
handler and worker (tests replace it to move time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.providers.embeddings import shared_encoder
from adapters.providers.intents import IntentEngine
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
    ws_open: int = 0
    cleaner: AudioCacheCleaner | None = None
    worker: TrainingWorker | None = None
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
                self._engine = IntentEngine(shared_encoder())
            return self._engine

    def make_workers(self) -> None:
        """Create the audio-cache cleaner and the training worker (not started)."""
        s = self.settings
        self.cleaner = AudioCacheCleaner(self.audio, self.files, ttl_seconds=s.voice_audio_cache_ttl,
                                         interval=s.voice_audio_cache_cleanup_interval, clock=self.now)
        self.worker = TrainingWorker(self.jobs, self.samples, self.files, epochs=s.voice_training_epochs,
                                     step_delay=s.voice_training_step_delay, clock=self.now,
                                     min_samples=s.voice_min_sample_count)


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
    )
    voice.make_workers()
    return voice


async def on_startup(voice: VertebroVoice) -> None:
    """Start the audio-cache cleaner and the training worker (which resumes interrupted jobs)."""
    voice.make_workers()
    assert voice.cleaner is not None and voice.worker is not None
    voice.cleaner.start()
    voice.worker.start()


async def on_shutdown(voice: VertebroVoice) -> None:
    """Stop the background tasks; running jobs stay persisted in their state and resume later."""
    if voice.worker is not None:
        await voice.worker.stop()
    if voice.cleaner is not None:
        await voice.cleaner.stop()


bundle: BundleSlot[VertebroVoice] = BundleSlot(API)
