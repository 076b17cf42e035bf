"""The Vertebro Voice adapter bundle, built once per :class:`handlers.deps.Services`.

``vertebro()`` returns it: stores, the file store, the intent engine (its model loads lazily on
first use), the background workers and the process-wide WebSocket connection count. ``clock``
is the time source of every handler and worker (tests replace it to move time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.providers.embeddings import shared_encoder
from adapters.storage.vertebro_files import LocalFileStore
from adapters.storage.vertebro_sessions import (
    VertebroAudioStore,
    VertebroHistoryStore,
    VertebroIntentStore,
    VertebroSessionStore,
    VertebroUserStore,
)
from adapters.storage.vertebro_training import VertebroJobStore, VertebroSampleStore
from adapters.vertebro_intents import IntentEngine
from adapters.vertebro_workers import AudioCacheCleaner, TrainingWorker
from core.clock import utcnow
from core.settings import Settings
from handlers.deps import Services, services

MOUNT = "/api/v1/voice"


@dataclass
class VertebroServices:
    settings: Settings
    users: VertebroUserStore
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
        return self.clock()

    def audio_fresh_after(self) -> datetime:
        """Cached audio last accessed before this instant has expired."""
        return self.now() - timedelta(seconds=self.settings.voice_audio_cache_ttl)

    def intent_engine(self) -> IntentEngine:
        """The intent engine (loads the sentence-embedding model on first call; blocking)."""
        with self._lock:
            if self._engine is None:
                self._engine = IntentEngine(shared_encoder())
            return self._engine

    def make_workers(self) -> None:
        s = self.settings
        self.cleaner = AudioCacheCleaner(self.audio, self.files, ttl_seconds=s.voice_audio_cache_ttl,
                                         interval=s.voice_audio_cache_cleanup_interval, clock=self.now)
        self.worker = TrainingWorker(self.jobs, self.samples, self.files, epochs=s.voice_training_epochs,
                                     step_delay=s.voice_training_step_delay, clock=self.now,
                                     min_samples=s.voice_min_sample_count)


def build(svc: Services) -> VertebroServices:
    db = svc.db
    bundle = VertebroServices(
        settings=svc.settings,
        users=VertebroUserStore(db),
        sessions=VertebroSessionStore(db),
        history=VertebroHistoryStore(db),
        audio=VertebroAudioStore(db),
        intents=VertebroIntentStore(db),
        samples=VertebroSampleStore(db),
        jobs=VertebroJobStore(db),
        files=LocalFileStore(svc.settings.voice_file_storage_dir),
    )
    bundle.make_workers()
    return bundle


def vertebro(svc: Services | None = None) -> VertebroServices:
    """This API's bundle for the installed services (or ``svc``)."""
    return (svc or services()).extension("vertebro", build)


def guarded(operation):
    """Operation decorator: storage failures answer 503 ``mongo_unavailable`` (the contract's
    code for an unreachable database), never 500."""
    import functools

    from adapters.storage.vertebro_db import StorageUnavailable
    from handlers.errors import ApiError

    @functools.wraps(operation)
    async def wrapper(*args, **kwargs):
        try:
            return await operation(*args, **kwargs)
        except StorageUnavailable:
            raise ApiError(503, "mongo_unavailable", "The database is not reachable") from None

    return wrapper
