"""Vertebro Voice background work: the audio-cache cleaner and the training worker.

Both are started by ``handlers.vertebro_voice.on_startup`` and stopped by ``on_shutdown``.

**Audio-cache cleaner.** Every ``interval`` seconds it removes cached audio last accessed more
than ``ttl`` seconds ago (index row, then file). Reads check the same cut-off, so an expired
entry is never served even before the cleaner has run.

**Training worker.** Runs every active job (``queued``, ``preparing``, ``training``,
``validating``) as its own task: at start-up that includes jobs interrupted by a stop or crash,
which resume from their persisted checkpoint (prepared samples, k-means epoch and centroids;
see :mod:`adapters.providers.voice_profile`). Each step persists state, progress, message and checkpoint
in one transaction before the next begins, so a restart repeats at most one step. Progress:
preparing 0-30, training 30-90 (one epoch per step, ``step_delay`` seconds apart), validating
90-100. A job runs in one process at a time: this worker assumes one server process owns the
queue (a second process would resume the same jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import anyio.to_thread

from adapters.providers import voice_profile
from adapters.providers.base import AudioDecodeError
from adapters.storage.vertebro_voice.files import FileNotStored, LocalFileStore
from adapters.storage.vertebro_voice.sessions import VertebroAudioStore
from adapters.storage.vertebro_voice.training import VertebroJobStore, VertebroSampleStore

logger = logging.getLogger("adapters.storage.vertebro_voice.workers")

Clock = Callable[[], datetime]


class AudioCacheCleaner:
    """Removes cached audio whose last access is older than ``ttl_seconds``."""

    def __init__(self, audio: VertebroAudioStore, files: LocalFileStore, *, ttl_seconds: float,
                 interval: float, clock: Clock) -> None:
        self.audio, self.files = audio, files
        self.ttl_seconds, self.interval, self.clock = ttl_seconds, interval, clock
        self._task: asyncio.Task | None = None

    def cutoff(self) -> datetime:
        """Entries last accessed before this instant are expired."""
        return self.clock() - timedelta(seconds=self.ttl_seconds)

    async def run_once(self) -> int:
        """One cleaning pass; returns how many entries were removed."""
        removed = 0
        while True:
            cutoff = self.cutoff()
            batch = await self.audio.expired(cutoff)
            if not batch:
                return removed
            for record in batch:
                if await self.audio.remove_if_expired(record.audio_id, cutoff):
                    await self.files.delete(record.file_id)
                    removed += 1
            if len(batch) < 500:
                return removed

    async def _loop(self) -> None:
        while True:
            try:
                removed = await self.run_once()
                if removed:
                    logger.info("audio cache: removed %d expired entries", removed)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep cleaning on the next round
                logger.exception("audio cache cleaning failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Start cleaning every ``interval`` seconds in a background task (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="vertebro-audio-cleaner")

    async def stop(self) -> None:
        """Cancel the background task and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class TrainingWorker:
    """Runs training jobs; survives restarts through the job's persisted checkpoint."""

    POLL_SECONDS = 5.0

    def __init__(self, jobs: VertebroJobStore, samples: VertebroSampleStore, files: LocalFileStore, *,
                 epochs: int, step_delay: float, clock: Clock, min_samples: int = 1) -> None:
        self.jobs, self.samples, self.files = jobs, samples, files
        self.min_samples = max(1, min_samples)
        self.epochs, self.step_delay, self.clock = max(1, epochs), max(0.0, step_delay), clock
        self._wake = asyncio.Event()
        self._main: asyncio.Task | None = None
        self._running: dict[str, asyncio.Task] = {}

    def start(self) -> None:
        """Start the queue loop in a background task (idempotent); it resumes every active job."""
        if self._main is None:
            self._wake = asyncio.Event()
            self._main = asyncio.create_task(self._loop(), name="vertebro-training-worker")

    def wake(self) -> None:
        """A job was queued: look at the queue now."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the loop and every running job (their state stays persisted → resumed later)."""
        tasks = ([self._main] if self._main else []) + list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._main = None
        self._running.clear()

    async def _loop(self) -> None:
        while True:
            try:
                for job in await self.jobs.active():
                    task = self._running.get(job.id)
                    if task is None or task.done():
                        self._running[job.id] = asyncio.create_task(self.execute(job.id), name=f"training-{job.id}")
                for job_id in [j for j, t in self._running.items() if t.done()]:
                    self._running.pop(job_id, None)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - database hiccup: try again on the next round
                logger.exception("training queue scan failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.POLL_SECONDS)
            self._wake.clear()

    async def _advance(self, job_id: str, status: str, progress: float, message: str, checkpoint: dict) -> None:
        await self.jobs.advance(job_id, status=status, progress=progress, message=message, checkpoint=checkpoint,
                                now=self.clock())

    async def execute(self, job_id: str) -> None:
        """Run (or resume) one job to ``completed`` or ``failed``."""
        job = await self.jobs.begin(job_id, self.clock())
        if job is None:
            return
        checkpoint = dict(job.checkpoint)
        try:
            prepared = await self._prepare(job_id, job.project, checkpoint)
            centroids = await self._train(job_id, checkpoint, prepared)
            await self._advance(job_id, "validating", 92.0, "Validating voice profile", checkpoint)
            summary = await anyio.to_thread.run_sync(voice_profile.validate, prepared, centroids)
            if not summary["consistent"]:
                await self.jobs.finish(job_id, status="failed", result=summary, now=self.clock(),
                                       message="Validation failed: samples are not consistent with one voice")
                return
            artifact = {"job_id": job_id, "project": job.project, "centroids": centroids,
                        "samples": checkpoint["sample_ids"], **summary}
            file_id = await self.files.put("models", json.dumps(artifact).encode())
            await self.jobs.finish(job_id, status="completed", message="Training completed", now=self.clock(),
                                   result={**summary, "model_file_id": file_id, "epochs": self.epochs,
                                           "inertia": checkpoint.get("inertia", [])})
        except asyncio.CancelledError:
            raise  # stopped: the job stays active and resumes from its checkpoint
        except (AudioDecodeError, FileNotStored, LookupError) as exc:
            await self.jobs.finish(job_id, status="failed", message=f"Training failed: {exc}", result=None,
                                   now=self.clock())
        except Exception as exc:  # noqa: BLE001 - a job failure must not stop the worker
            logger.exception("training job %s failed", job_id)
            await self.jobs.finish(job_id, status="failed", message=f"Training failed: {type(exc).__name__}",
                                   result=None, now=self.clock())

    async def _prepare(self, job_id: str, project: str, checkpoint: dict) -> list[dict]:
        if "sample_ids" not in checkpoint:
            samples = await self.samples.list(project)
            if len(samples) < self.min_samples:  # samples deleted while the job was queued
                raise LookupError(f"not enough samples: {len(samples)}/{self.min_samples}")
            checkpoint["sample_ids"] = [s.id for s in samples]
            checkpoint["prepared"] = {}
            await self._advance(job_id, "preparing", 1.0, "Preparing samples", checkpoint)
        ids = checkpoint["sample_ids"]
        prepared = checkpoint.setdefault("prepared", {})
        for n, sample_id in enumerate(ids, start=1):
            if sample_id in prepared:
                continue
            sample = await self.samples.get(sample_id)
            if sample is None:
                raise LookupError(f"sample {sample_id} was deleted")
            data = await self.files.get(sample.file_id)
            prepared[sample_id] = await anyio.to_thread.run_sync(voice_profile.prepare_sample, data)
            await self._advance(job_id, "preparing", 30.0 * n / len(ids), f"Preparing samples ({n}/{len(ids)})",
                                checkpoint)
        return [prepared[i] for i in ids]

    async def _train(self, job_id: str, checkpoint: dict, prepared: list[dict]) -> list[list[float]]:
        if "centroids" not in checkpoint:
            checkpoint["centroids"] = voice_profile.initial_centroids(prepared)
            checkpoint["epoch"] = 0
            checkpoint["inertia"] = []
        while checkpoint["epoch"] < self.epochs:
            centroids, inertia = await anyio.to_thread.run_sync(voice_profile.kmeans_step, prepared,
                                                                checkpoint["centroids"])
            checkpoint["centroids"] = centroids
            checkpoint["epoch"] += 1
            checkpoint["inertia"] = checkpoint["inertia"] + [inertia]
            epoch = checkpoint["epoch"]
            await self._advance(job_id, "training", 30.0 + 60.0 * epoch / self.epochs,
                                f"Training in progress... epoch {epoch}/{self.epochs}", checkpoint)
            if self.step_delay:
                await asyncio.sleep(self.step_delay)
        return checkpoint["centroids"]
