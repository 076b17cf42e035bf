"""Vertebro voice training: listVoiceSamples, uploadVoiceSamples, deleteVoiceSample,
listTrainingJobs, getTrainingStatus, startTraining.

Samples are stored in the file store (``VOICE_FILE_STORAGE_DIR``); their metadata and the jobs
in the database. Jobs run in the background training worker (:mod:`adapters.storage.vertebro_voice.workers`):
queued → preparing → training → validating → completed | failed, with persisted progress, and
they resume after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from starlette.datastructures import UploadFile

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError
from adapters.storage.vertebro_voice.training import JobInProgress, NotEnoughSamples
from generated.models.vertebro_voice import (
    Detail,
    TrainingJobResponse,
    TrainingRequest,
    TrainingStatusResponse,
    VoiceJobsResponse,
    VoiceSamplesResponse,
)
from handlers.errors import ApiError
from handlers.vertebro_voice.bundle import bundle
from handlers.vertebro_voice.guard import guarded
from handlers.vertebro_voice.responses import training_job, voice_sample

ACCEPTED_TYPES = frozenset({"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/flac", "audio/x-flac",
                            "audio/ogg", "audio/webm", "audio/aac", "audio/m4a"})
ACCEPTED_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".webm", ".m4a", ".aac")
MAX_SAMPLE_SECONDS = 600.0
_EXT_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
              ".webm": "audio/webm", ".m4a": "audio/m4a", ".aac": "audio/aac"}


def _project(project: object) -> str:
    """The project name (``default`` when absent); 400 ``project_required`` when present but empty
    (the schema already refuses that with 422: kept for a request that bypassed it)."""
    if project is None:
        return "default"
    if not isinstance(project, str) or not project.strip():
        raise ApiError(400, "project_required", "project must not be empty")
    return project.strip()


async def _samples(project: str) -> VoiceSamplesResponse:
    return VoiceSamplesResponse(samples=[voice_sample(s) for s in await bundle().samples.list(project)])


@guarded
async def list_voice_samples(project: str | None = "default", user: str | None = None) -> VoiceSamplesResponse:
    """``GET /samples`` (listVoiceSamples) → 200 ``{samples}`` of ``project`` (default
    ``default``), oldest first; ``size_bytes`` bytes, ``duration_seconds`` seconds, ``uploaded_at``
    epoch seconds (each with its camelCase alias). 400 ``project_required``; 503 ``mongo_unavailable``."""
    return await _samples(_project(project))


def _probe(data: bytes) -> codec.AudioInfo:
    """What ``data`` decodes to (duration in seconds …); raises AudioDecodeError (blocking)."""
    return codec.probe(data, max_seconds=MAX_SAMPLE_SECONDS)


# Part content types that name no audio format: the contract's own `encoding: {files: {contentType:
# audio/*}}` (what clients generated from it send) and the generic binary type.
UNSPECIFIC_TYPES = frozenset({"audio/*", "application/octet-stream"})


def _sniffed(data: bytes) -> str | None:
    """The audio type ``data``'s leading bytes announce (WAV, Ogg, FLAC, WebM, MP3), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "audio/webm"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def _content_type(upload: UploadFile, data: bytes = b"") -> str:
    """The accepted content type of an upload: its part header, else its file name, else — for a
    part typed ``audio/*`` or ``application/octet-stream`` — what its bytes announce; 415 otherwise."""
    declared = (getattr(upload, "content_type", None) or "").split(";")[0].strip().lower()
    name = (getattr(upload, "filename", None) or "").lower()
    if declared in ACCEPTED_TYPES:
        return declared
    ext = next((e for e in ACCEPTED_EXTENSIONS if name.endswith(e)), None)
    if ext is not None:
        return _EXT_TYPES[ext]
    sniffed = _sniffed(data) if declared in UNSPECIFIC_TYPES else None
    if sniffed is not None:
        return sniffed
    raise ApiError(415, "unsupported_content_type",
                   f"{upload.filename or 'file'}: {declared or 'no content type'} is not an accepted audio type")


@guarded
async def upload_voice_samples(body: Mapping[str, Any] | None = None, files: list[UploadFile] | None = None,
                               user: str | None = None) -> VoiceSamplesResponse:
    """``POST /samples`` (uploadVoiceSamples; multipart ``project`` + one or more ``files``) →
    200 the project's full sample list.

    Every file is checked before any is stored: accepted type (part content type or file
    extension; for a part typed ``audio/*`` — the contract's encoding — or
    ``application/octet-stream``, the type its bytes announce; else 415
    ``unsupported_content_type``), not empty (400 ``empty_sample``), at most
    ``VOICE_SAMPLE_MAX_BYTES`` (413 ``sample_too_large``), decodable audio of at most
    600 s (else 415 ``unsupported_audio_format``). ``duration_seconds`` is measured by
    decoding. No files → 400 ``files_required``; empty project → 400 ``project_required``; 503
    ``mongo_unavailable``. The form is multipart, not JSON, so ``body`` is connexion's form
    mapping (``project``) and ``files`` its uploads, not a generated model.
    """
    vertebro = bundle()
    body = body or {}
    project = _project(body.get("project", ""))
    uploads = [f for f in (files or body.get("files") or []) if hasattr(f, "read")]
    if not uploads:
        raise ApiError(400, "files_required", "at least one file is required")
    limit = vertebro.settings.voice_sample_max_bytes
    checked: list[tuple[str, str, bytes, float]] = []
    for upload in uploads:
        data = await upload.read(limit + 1)
        content_type = _content_type(upload, data[:16])
        if not data:
            raise ApiError(400, "empty_sample", f"{upload.filename or 'file'} is empty")
        if len(data) > limit:
            raise ApiError(413, "sample_too_large", f"{upload.filename or 'file'} is larger than {limit} bytes")
        try:
            info = await anyio.to_thread.run_sync(_probe, data)
        except AudioDecodeError as exc:
            raise ApiError(415, "unsupported_audio_format", f"{upload.filename or 'file'}: {exc}") from None
        checked.append((upload.filename or "sample", content_type, data, round(info.duration, 3)))
    file_ids: list[str] = []
    stored: list[dict[str, Any]] = []
    try:
        for filename, content_type, data, duration in checked:
            file_id = await vertebro.files.put("samples", data)
            file_ids.append(file_id)
            stored.append({"file_id": file_id, "filename": filename[:500], "content_type": content_type,
                           "size_bytes": len(data), "duration_seconds": duration})
        await vertebro.samples.add_many(project, stored, vertebro.now())
    except BaseException:
        for file_id in file_ids:
            await vertebro.files.delete(file_id)
        raise
    return await _samples(project)


@guarded
async def delete_voice_sample(sample_id: str, project: str | None = "default",
                              user: str | None = None) -> VoiceSamplesResponse:
    """``DELETE /samples/{sample_id}`` (deleteVoiceSample) → 200 the project's remaining samples;
    the file is removed from the file store. 404 ``sample_not_found``; 400 ``project_required``;
    503 ``mongo_unavailable``."""
    vertebro = bundle()
    name = _project(project)
    removed = await vertebro.samples.delete(name, sample_id)
    if removed is None:
        raise ApiError(404, "sample_not_found", "Unknown voice sample")
    await vertebro.files.delete(removed.file_id)
    return await _samples(name)


@guarded
async def list_training_jobs(project: str | None = "default", limit: int = 10,
                             user: str | None = None) -> VoiceJobsResponse:
    """``GET /jobs`` (listTrainingJobs) → 200 ``{jobs}``: the project's ``limit`` (1..25) newest
    jobs; ``progress`` percent 0..100, times in epoch seconds (null until reached). 400
    ``project_required``; 503 ``mongo_unavailable``."""
    jobs = await bundle().jobs.list(_project(project), limit)
    return VoiceJobsResponse(jobs=[training_job(j) for j in jobs])


@guarded
async def get_training_status(project: str | None = "default", user: str | None = None) -> TrainingStatusResponse:
    """``GET /status`` (getTrainingStatus) → 200 ``{job}``: the project's latest job, or
    ``{"job": null}`` when it has none. 400 ``project_required``; 503 ``mongo_unavailable``."""
    jobs = await bundle().jobs.list(_project(project), 1)
    return TrainingStatusResponse(job=training_job(jobs[0]) if jobs else None)


@guarded
async def start_training(body: TrainingRequest | None = None, user: str | None = None) -> TrainingJobResponse:
    """``POST /train`` (startTraining; form ``project``, url-encoded or multipart, parsed into
    ``TrainingRequest``) → 200 ``{job, detail}``.

    Needs ``VOICE_MIN_SAMPLE_COUNT`` (3) samples (400 ``not_enough_samples:N/3``). One active
    job per project: 409 ``job_in_progress``, unless it made no progress for
    ``VOICE_TRAINING_STALE_SECONDS`` (20) — then it is requeued and answered with
    ``detail: job_resumed``. A new job answers ``detail: job_queued``; the background worker
    runs it. 503 ``mongo_unavailable``.
    """
    vertebro = bundle()
    project = _project(body.project if body is not None else "")
    settings = vertebro.settings
    try:
        job, detail = await vertebro.jobs.start(project, min_samples=settings.voice_min_sample_count,
                                              stale_after=settings.voice_training_stale_seconds, now=vertebro.now())
    except NotEnoughSamples as exc:
        raise ApiError(400, f"not_enough_samples:{exc.have}/{exc.need}", str(exc)) from None
    except JobInProgress:
        raise ApiError(409, "job_in_progress", "The project already has an active training job") from None
    if vertebro.worker is not None:
        vertebro.worker.wake()
    return TrainingJobResponse(job=training_job(job), detail=Detail(detail))
