"""Vertebro Voice background work: the audio-cache cleaner and the training worker.

Both run as jobs of the shared job queue (:mod:`adapters.jobs`), declared by the API's bundle:
the cleaner as a periodic job, training as one job per training job id, plus a periodic sweep.

**Audio-cache cleaner.** :meth:`AudioCacheCleaner.run_once` removes cached audio last accessed
more than ``ttl`` seconds ago (index row, then file). Reads check the same cut-off, so an expired
entry is never served even before the cleaner has run. The queue runs it one at a time across
all processes.

**Training worker.** :meth:`TrainingWorker.run` runs one job in exactly one process: it claims
the job row (``claimed_by`` = this worker's id) and renews its heartbeat every quarter of
``stale_after`` while it works; every write is fenced on the claim, so a worker that lost its
claim stops. :meth:`TrainingWorker.sweep` finds active jobs nobody runs — never picked up, or
claimed by a process that died (heartbeat older than ``stale_after``) — for the queue to run
again; they resume from their persisted checkpoint (prepared samples, k-means epoch and
centroids; see :mod:`adapters.providers.voice_profile`). Each step persists state, progress,
message and checkpoint in one transaction before the next begins, so a takeover repeats at most
one step. Progress: preparing 0-30, training 30-90 (one epoch per step, ``step_delay`` seconds
apart), validating 90-100.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import anyio.to_thread

from adapters.jobs import worker_name
from adapters.providers.base import AudioDecodeError
from adapters.storage.vertebro_voice.files import FileNotStored, LocalFileStore
from adapters.storage.vertebro_voice.sessions import VertebroAudioStore
from adapters.storage.vertebro_voice.training import JobRecord, LeaseLost, VertebroJobStore, VertebroSampleStore

logger = logging.getLogger("adapters.storage.vertebro_voice.workers")

Clock = Callable[[], datetime]


class AudioCacheCleaner:
    """Removes cached audio whose last access is older than ``ttl_seconds``."""

    def __init__(self, audio: VertebroAudioStore, files: LocalFileStore, *, ttl_seconds: float,
                 clock: Clock) -> None:
        self.audio, self.files = audio, files
        self.ttl_seconds, self.clock = ttl_seconds, clock

    def cutoff(self) -> datetime:
        """Entries last accessed before this instant are expired."""
        return self.clock() - timedelta(seconds=self.ttl_seconds)

    async def run_once(self) -> int:
        """One cleaning pass (the periodic job); returns how many entries were removed."""
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


class TrainingWorker:
    """Runs training jobs, one claimed job at a time per call of :meth:`run`.

    ``stale_after``: seconds without a heartbeat after which another process may take a job over.
    """

    def __init__(self, jobs: VertebroJobStore, samples: VertebroSampleStore, files: LocalFileStore, *,
                 epochs: int, step_delay: float, clock: Clock, min_samples: int = 1, stale_after: float = 20.0,
                 ) -> None:
        self.jobs, self.samples, self.files = jobs, samples, files
        self.min_samples = max(1, min_samples)
        self.epochs, self.step_delay, self.clock = max(1, epochs), max(0.0, step_delay), clock
        self.stale_after = max(1.0, stale_after)
        self.id = worker_name()
        self.stopped = False
        self._running: dict[str, asyncio.Task] = {}

    async def run(self, job_id: str) -> None:
        """The queue's job: run ``job_id`` here unless it is finished, runs elsewhere, or this
        worker was stopped."""
        if not self.stopped:
            await self.execute(job_id)

    async def sweep(self) -> list[str]:
        """Active jobs nobody runs (never picked up for 5 s, or their runner's heartbeat is older
        than ``stale_after``), for the queue to run again. Empty once stopped."""
        if self.stopped:
            return []
        return await self.jobs.stranded(self.clock(), self.stale_after, grace=5.0)

    async def stop(self) -> None:
        """Stop running jobs here: cancel the running ones (each releases its claim, so any
        process resumes it from its checkpoint) and refuse new ones."""
        self.stopped = True
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._running.clear()

    async def execute(self, job_id: str) -> None:
        """Claim ``job_id`` and run (or resume) it to ``completed`` or ``failed``, renewing the
        claim while it runs. Returns at once when the job is not active or another live worker
        holds it."""
        job = await self.jobs.claim(job_id, self.id, self.clock(), self.stale_after)
        if job is None:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running[job_id] = task
        beat = asyncio.get_running_loop().create_task(self._heartbeat(job_id))
        try:
            await self._execute(job)
        except LeaseLost:
            logger.warning("training job %s: claim lost, another worker continues it", job_id)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.jobs.release(job_id, self.id))
            raise
        finally:
            beat.cancel()
            self._running.pop(job_id, None)

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(self.stale_after / 4)
            try:
                await self.jobs.heartbeat(job_id, self.id, self.clock())
            except LeaseLost:
                return
            except Exception:  # noqa: BLE001 - a database hiccup: the next beat tries again
                logger.warning("training job %s: heartbeat failed", job_id, exc_info=True)

    async def _advance(self, job_id: str, status: str, progress: float, message: str, checkpoint: dict) -> None:
        await self.jobs.advance(job_id, status=status, progress=progress, message=message, checkpoint=checkpoint,
                                now=self.clock(), worker=self.id)

    async def _execute(self, job: JobRecord) -> None:
        from adapters.providers import voice_profile  # NumPy: imported with the first training run

        job_id = job.id
        checkpoint = dict(job.checkpoint)
        try:
            prepared = await self._prepare(job_id, job.project, checkpoint)
            centroids = await self._train(job_id, checkpoint, prepared)
            await self._advance(job_id, "validating", 92.0, "Validating voice profile", checkpoint)
            summary = await anyio.to_thread.run_sync(voice_profile.validate, prepared, centroids)
            if not summary["consistent"]:
                await self.jobs.finish(job_id, status="failed", result=summary, now=self.clock(), worker=self.id,
                                       message="Validation failed: samples are not consistent with one voice")
                return
            artifact = {"job_id": job_id, "project": job.project, "centroids": centroids,
                        "samples": checkpoint["sample_ids"], **summary}
            file_id = await self.files.put("models", json.dumps(artifact).encode())
            await self.jobs.finish(job_id, status="completed", message="Training completed", now=self.clock(),
                                   worker=self.id,
                                   result={**summary, "model_file_id": file_id, "epochs": self.epochs,
                                           "inertia": checkpoint.get("inertia", [])})
        except (asyncio.CancelledError, LeaseLost):
            raise  # stopped, or taken over: the job stays active and resumes from its checkpoint
        except (AudioDecodeError, FileNotStored, LookupError) as exc:
            await self.jobs.finish(job_id, status="failed", message=f"Training failed: {exc}", result=None,
                                   now=self.clock(), worker=self.id)
        except Exception as exc:  # noqa: BLE001 - a job failure must not stop the worker
            logger.exception("training job %s failed", job_id)
            await self.jobs.finish(job_id, status="failed", message=f"Training failed: {type(exc).__name__}",
                                   result=None, now=self.clock(), worker=self.id)

    async def _prepare(self, job_id: str, project: str, checkpoint: dict) -> list[dict]:
        from adapters.providers import voice_profile  # NumPy: imported with the first training run

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
        from adapters.providers import voice_profile  # NumPy: imported with the first training run

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
