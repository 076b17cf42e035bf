"""Vertebro Voice training stores: voice samples (metadata; bytes in the file store) and training
jobs with their persisted progress and checkpoint. Times are aware UTC datetimes from the caller."""

from __future__ import annotations

import builtins
import copy
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.vertebro_voice.tables import VertebroSample, VertebroTrainingJob

#: Job states in which a job is still to run or running.
ACTIVE = ("queued", "preparing", "training", "validating")
FINAL = ("completed", "failed")


@dataclass(frozen=True)
class SampleRecord:
    """An uploaded voice sample: its bytes are file ``file_id`` of the file store (``size_bytes``
    bytes, ``duration_seconds`` seconds measured by decoding, None if unknown); ``uploaded_at`` is
    aware UTC."""
    id: str
    project: str
    file_id: str
    filename: str
    content_type: str
    size_bytes: int
    duration_seconds: float | None
    uploaded_at: datetime


def _sample(row: VertebroSample) -> SampleRecord:
    return SampleRecord(row.id, row.project, row.file_id, row.filename, row.content_type, row.size_bytes,
                        row.duration_seconds, row.uploaded_at)


@dataclass(frozen=True)
class JobRecord:
    """A training job: ``status`` queued | preparing | training | validating | completed | failed,
    ``progress`` percent 0..100, ``message``, the worker's ``checkpoint``, the final ``result``,
    ``attempts`` (worker starts) and aware UTC times (``started_at``/``finished_at`` None until then;
    ``heartbeat_at`` is the last progress)."""
    id: str
    project: str
    status: str
    progress: float
    message: str
    checkpoint: dict[str, Any]
    result: dict[str, Any] | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime


def _job(row: VertebroTrainingJob) -> JobRecord:
    return JobRecord(row.id, row.project, row.status, row.progress, row.message, copy.deepcopy(row.checkpoint or {}),
                     copy.deepcopy(row.result), row.attempts, row.created_at, row.started_at, row.finished_at,
                     row.heartbeat_at)


class LeaseLost(Exception):
    """The job is no longer claimed by this worker (another took it over, or it was finished or
    requeued): the caller must stop working on it and write nothing more."""


class NotEnoughSamples(Exception):
    """Fewer than the required samples: ``have`` of ``need``."""
    def __init__(self, have: int, need: int) -> None:
        super().__init__(f"not_enough_samples:{have}/{need}")
        self.have, self.need = have, need


class JobInProgress(Exception):
    """The project already has an active ``job`` that is not stale."""
    def __init__(self, job: JobRecord) -> None:
        super().__init__(f"job {job.id} is {job.status}")
        self.job = job


class VertebroSampleStore:
    """Voice sample metadata per project (the bytes live in the file store)."""
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, project: str, samples: list[dict[str, Any]], now: datetime) -> list[SampleRecord]:
        """Store several samples in one transaction (all or none). Each dict has ``file_id``,
        ``filename``, ``content_type``, ``size_bytes``, ``duration_seconds``."""

        def work(s: Session) -> list[SampleRecord]:
            rows = []
            for i, item in enumerate(samples):
                row = VertebroSample(id=secrets.token_hex(12), project=project, uploaded_at=now
                                     + timedelta(microseconds=i), **item)
                s.add(row)
                rows.append(row)
            s.flush()
            return [_sample(r) for r in rows]

        return await self.db.run(work)

    async def list(self, project: str) -> list[SampleRecord]:
        """The project's samples, oldest first."""

        def work(s: Session) -> list[SampleRecord]:
            rows = s.exec(select(VertebroSample).where(VertebroSample.project == project)
                          .order_by(col(VertebroSample.uploaded_at), col(VertebroSample.id))).all()
            return [_sample(r) for r in rows]

        return await self.db.run(work)

    async def get(self, sample_id: str) -> SampleRecord | None:
        """The sample ``sample_id`` of any project, or None."""
        def work(s: Session) -> SampleRecord | None:
            row = s.get(VertebroSample, sample_id)
            return _sample(row) if row else None

        return await self.db.run(work)

    async def delete(self, project: str, sample_id: str) -> SampleRecord | None:
        """Remove the project's sample ``sample_id``; None when the project has no such sample."""

        def work(s: Session) -> SampleRecord | None:
            row = s.get(VertebroSample, sample_id)
            if row is None or row.project != project:
                return None
            record = _sample(row)
            s.delete(row)
            return record

        return await self.db.run(work)


class VertebroJobStore:
    """Training jobs: queued → preparing → training → validating → completed | failed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, project: str, *, min_samples: int, stale_after: float,
                    now: datetime) -> tuple[JobRecord, str]:
        """Queue a training job for ``project`` in one transaction.

        Returns ``(job, "job_queued")`` for a new job, or ``(job, "job_resumed")`` when the
        project's active job made no progress for ``stale_after`` seconds and was requeued.
        Raises :class:`NotEnoughSamples` (fewer than ``min_samples``) or :class:`JobInProgress`.
        """

        def work(s: Session) -> tuple[JobRecord, str]:
            have = int(s.exec(select(func.count()).select_from(VertebroSample)
                              .where(VertebroSample.project == project)).one())
            if have < min_samples:
                raise NotEnoughSamples(have, min_samples)
            active = s.exec(select(VertebroTrainingJob).where(VertebroTrainingJob.project == project,
                                                              col(VertebroTrainingJob.status).in_(ACTIVE))
                            .order_by(col(VertebroTrainingJob.created_at).desc())).first()
            if active is not None:
                if (now - active.heartbeat_at).total_seconds() < stale_after:
                    raise JobInProgress(_job(active))
                active.status, active.message, active.heartbeat_at = "queued", "Job requeued after stalling", now
                active.claimed_by = None
                s.add(active)
                s.flush()
                return _job(active), "job_resumed"
            row = VertebroTrainingJob(id=secrets.token_hex(12), project=project, status="queued", progress=0.0,
                                      message="Job queued", checkpoint={}, created_at=now, heartbeat_at=now)
            s.add(row)
            s.flush()
            return _job(row), "job_queued"

        return await self.db.run(work)

    async def get(self, job_id: str) -> JobRecord | None:
        """The job ``job_id``, or None."""
        def work(s: Session) -> JobRecord | None:
            row = s.get(VertebroTrainingJob, job_id)
            return _job(row) if row else None

        return await self.db.run(work)

    async def list(self, project: str, limit: int) -> list[JobRecord]:
        """The project's jobs, newest first."""

        def work(s: Session) -> list[JobRecord]:
            rows = s.exec(select(VertebroTrainingJob).where(VertebroTrainingJob.project == project)
                          .order_by(col(VertebroTrainingJob.created_at).desc()).limit(limit)).all()
            return [_job(r) for r in rows]

        return await self.db.run(work)

    async def active(self) -> builtins.list[JobRecord]:  # `list` is a method of this class
        """Every job still to run or interrupted mid-run, oldest first."""

        def work(s: Session) -> list[JobRecord]:
            rows = s.exec(select(VertebroTrainingJob).where(col(VertebroTrainingJob.status).in_(ACTIVE))
                          .order_by(col(VertebroTrainingJob.created_at))).all()
            return [_job(r) for r in rows]

        return await self.db.run(work)

    async def claim(self, job_id: str, worker: str, now: datetime, stale_after: float) -> JobRecord | None:
        """Claim the active job ``job_id`` for ``worker`` (``attempts`` + 1, ``started_at`` set
        once, heartbeat now) unless another worker holds it with a heartbeat newer than
        ``stale_after`` seconds. One conditional UPDATE: of two processes claiming at once,
        exactly one gets the job. None when it is not active or someone else runs it."""

        def work(s: Session) -> JobRecord | None:
            t = VertebroTrainingJob
            free = or_(col(t.claimed_by).is_(None), col(t.claimed_by) == worker,
                       col(t.heartbeat_at) < now - timedelta(seconds=stale_after))
            claimed = s.exec(update(t).where(col(t.id) == job_id, col(t.status).in_(ACTIVE), free)
                             .values(claimed_by=worker, attempts=t.attempts + 1, heartbeat_at=now,
                                     started_at=func.coalesce(t.started_at, now)))
            if claimed.rowcount != 1:
                return None
            s.expire_all()
            row = s.get(VertebroTrainingJob, job_id)
            return _job(row) if row else None

        return await self.db.run(work)

    async def heartbeat(self, job_id: str, worker: str, now: datetime) -> None:
        """Renew ``worker``'s claim. Raises :class:`LeaseLost` when it no longer holds the job."""

        def work(s: Session) -> int:
            t = VertebroTrainingJob
            return int(s.exec(update(t).where(col(t.id) == job_id, col(t.claimed_by) == worker,
                                              col(t.status).in_(ACTIVE)).values(heartbeat_at=now)).rowcount)

        if await self.db.run(work) != 1:
            raise LeaseLost(job_id)

    async def release(self, job_id: str, worker: str) -> None:
        """Give up ``worker``'s claim (at shutdown): the job stays active and any process may
        resume it at once."""

        def work(s: Session) -> None:
            t = VertebroTrainingJob
            s.exec(update(t).where(col(t.id) == job_id, col(t.claimed_by) == worker).values(claimed_by=None))

        await self.db.run(work)

    async def stranded(self, now: datetime, stale_after: float, grace: float) -> builtins.list[str]:
        """Ids of active jobs nobody runs: unclaimed for more than ``grace`` seconds since their
        last change, or claimed with a heartbeat older than ``stale_after`` seconds (oldest first)."""

        def work(s: Session) -> list[str]:
            t = VertebroTrainingJob
            rows = s.exec(select(t.id).where(col(t.status).in_(ACTIVE), or_(
                and_(col(t.claimed_by).is_(None), col(t.heartbeat_at) <= now - timedelta(seconds=grace)),
                col(t.heartbeat_at) < now - timedelta(seconds=stale_after))).order_by(col(t.created_at))).all()
            return list(rows)

        return await self.db.run(work)

    async def advance(self, job_id: str, *, status: str, progress: float, message: str,
                      checkpoint: dict[str, Any], now: datetime, worker: str | None = None) -> None:
        """Persist a step: new state, progress (never lowered), message and checkpoint. With
        ``worker``, only while that worker holds the job (else :class:`LeaseLost`)."""

        def work(s: Session) -> bool:
            row = s.get(VertebroTrainingJob, job_id)
            if row is None or row.status not in ACTIVE:
                return worker is None
            if worker is not None and row.claimed_by != worker:
                return False
            row.status, row.message, row.checkpoint, row.heartbeat_at = status, message, checkpoint, now
            row.progress = max(row.progress, round(progress, 2))
            s.add(row)
            return True

        if not await self.db.run(work):
            raise LeaseLost(job_id)

    async def finish(self, job_id: str, *, status: str, message: str, result: dict[str, Any] | None,
                     now: datetime, worker: str | None = None) -> None:
        """Final state ``completed`` (progress 100) or ``failed``; the claim ends. With ``worker``,
        only while that worker holds the job (else :class:`LeaseLost`)."""

        def work(s: Session) -> bool:
            row = s.get(VertebroTrainingJob, job_id)
            if row is None:
                return True
            if worker is not None and row.claimed_by != worker:
                return False
            row.status, row.message, row.result, row.finished_at, row.heartbeat_at = status, message[:500], result, \
                now, now
            row.claimed_by = None
            if status == "completed":
                row.progress = 100.0
            s.add(row)
            return True

        if not await self.db.run(work):
            raise LeaseLost(job_id)
