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
from handlers.vertebro_voice.sessions import member_project

ACCEPTED_TYPES = frozenset({"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/flac", "audio/x-flac",
                            "audio/ogg", "audio/webm", "audio/aac", "audio/m4a"})
ACCEPTED_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".webm", ".m4a", ".aac")
MAX_SAMPLE_SECONDS = 600.0
#: Declared types that say nothing about the bytes (a browser Blob, a bare multipart part): the bytes decide.
# Part types that name no audio format: none, the generic binary ones, and the contract's own
# `encoding: {files: {contentType: audio/*}}` (what clients generated from it send literally).
GENERIC_TYPES = frozenset({"", "audio/*", "application/octet-stream", "binary/octet-stream", "application/unknown"})
#: FFmpeg demuxer of a decoded upload → the content type recorded for it.
_FORMAT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "matroska,webm": "audio/webm",
                 "flac": "audio/flac", "aac": "audio/aac", "mov,mp4,m4a,3gp,3g2,mj2": "audio/m4a"}
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


async def _member(project: object, user: str | None) -> str:
    """:func:`_project`, then 404 ``project_not_found`` unless ``user`` is a member of it (or an
    admin): checked before anything is read or stored, so another project's data is never touched."""
    return member_project(await bundle().scope(user), _project(project))


async def _samples(project: str) -> VoiceSamplesResponse:
    return VoiceSamplesResponse(samples=[voice_sample(s) for s in await bundle().samples.list(project)])


@guarded
async def list_voice_samples(project: str | None = "default", user: str | None = None) -> VoiceSamplesResponse:
    """``GET /samples`` (listVoiceSamples) → 200 ``{samples}`` of ``project`` (default
    ``default``), oldest first; ``size_bytes`` bytes, ``duration_seconds`` seconds, ``uploaded_at``
    epoch seconds (each with its camelCase alias). 400 ``project_required``; 404
    ``project_not_found`` (not a member); 503 ``mongo_unavailable``."""
    return await _samples(await _member(project, user))


def _probe(data: bytes) -> codec.AudioInfo:
    """What ``data`` decodes to (duration in seconds …); raises AudioDecodeError (blocking)."""
    return codec.probe(data, max_seconds=MAX_SAMPLE_SECONDS)


def _content_type(upload: UploadFile) -> str | None:
    """The accepted content type of an upload: its part header as sent (parameters kept, e.g.
    ``audio/webm;codecs=opus`` from a browser recording), else its file name's; None when neither
    tells (no or a generic type such as ``application/octet-stream``, no known extension): the
    bytes then decide. 415 ``unsupported_content_type`` for a declared non-audio type."""
    full = (getattr(upload, "content_type", None) or "").strip().lower()
    declared = full.split(";")[0].strip()
    name = (getattr(upload, "filename", None) or "").lower()
    if declared in ACCEPTED_TYPES:
        return "; ".join(p.strip() for p in full.split(";"))[:100]
    ext = next((e for e in ACCEPTED_EXTENSIONS if name.endswith(e)), None)
    if ext is not None:
        return _EXT_TYPES[ext]
    if declared in GENERIC_TYPES:
        return None
    raise ApiError(415, "unsupported_content_type",
                   f"{upload.filename or 'file'}: {declared} is not an accepted audio type")


@guarded
async def upload_voice_samples(body: Mapping[str, Any] | None = None, files: list[UploadFile] | None = None,
                               user: str | None = None) -> VoiceSamplesResponse:
    """``POST /samples`` (uploadVoiceSamples; multipart ``project`` + one or more ``files``) →
    200 the project's full sample list.

    Every file is checked before any is stored: accepted type (part content type — parameters
    such as ``;codecs=opus`` allowed and kept — or file extension; a part without a type, or with
    ``application/octet-stream``, is accepted when its bytes decode as audio and recorded with the
    type they decoded as; another type is 415 ``unsupported_content_type``), not empty (400 ``empty_sample``), at
    most ``VOICE_SAMPLE_MAX_BYTES`` (413 ``sample_too_large``), decodable audio of at most
    600 s (else 415 ``unsupported_audio_format``). ``duration_seconds`` is measured by
    decoding. No files → 400 ``files_required``; empty project → 400 ``project_required``; 404
    ``project_not_found`` (not a member; nothing stored); 503 ``mongo_unavailable``. The form is
    multipart, not JSON, so ``body`` is connexion's form mapping (``project``) and ``files`` its
    uploads, not a generated model.
    """
    vertebro = bundle()
    body = body or {}
    project = await _member(body.get("project", ""), user)
    uploads = [f for f in (files or body.get("files") or []) if hasattr(f, "read")]
    if not uploads:
        raise ApiError(400, "files_required", "at least one file is required")
    limit = vertebro.settings.voice_sample_max_bytes
    checked: list[tuple[str, str, bytes, float]] = []
    for upload in uploads:
        content_type = _content_type(upload)
        data = await upload.read(limit + 1)
        if not data:
            raise ApiError(400, "empty_sample", f"{upload.filename or 'file'} is empty")
        if len(data) > limit:
            raise ApiError(413, "sample_too_large", f"{upload.filename or 'file'} is larger than {limit} bytes")
        try:
            info = await anyio.to_thread.run_sync(_probe, data)
        except AudioDecodeError as exc:
            raise ApiError(415, "unsupported_audio_format", f"{upload.filename or 'file'}: {exc}") from None
        if content_type is None:  # no type and no extension: what the bytes decoded as
            content_type = _FORMAT_TYPES.get(info.format_name, f"audio/{info.format_name.split(',')[0]}")
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
    the file is removed from the file store. 404 ``sample_not_found`` (not a sample of ``project``)
    or ``project_not_found`` (not a member: nothing is deleted); 400 ``project_required``; 503
    ``mongo_unavailable``."""
    vertebro = bundle()
    name = await _member(project, user)
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
    ``project_required``; 404 ``project_not_found`` (not a member); 503 ``mongo_unavailable``."""
    jobs = await bundle().jobs.list(await _member(project, user), limit)
    return VoiceJobsResponse(jobs=[training_job(j) for j in jobs])


@guarded
async def get_training_status(project: str | None = "default", user: str | None = None) -> TrainingStatusResponse:
    """``GET /status`` (getTrainingStatus) → 200 ``{job}``: the project's latest job, or
    ``{"job": null}`` when it has none. 400 ``project_required``; 404 ``project_not_found`` (not a
    member); 503 ``mongo_unavailable``."""
    jobs = await bundle().jobs.list(await _member(project, user), 1)
    return TrainingStatusResponse(job=training_job(jobs[0]) if jobs else None)


@guarded
async def start_training(body: TrainingRequest | None = None, user: str | None = None) -> TrainingJobResponse:
    """``POST /train`` (startTraining; form ``project``, url-encoded or multipart, parsed into
    ``TrainingRequest``) → 200 ``{job, detail}``.

    Needs ``VOICE_MIN_SAMPLE_COUNT`` (3) samples (400 ``not_enough_samples:N/3``). One active
    job per project: 409 ``job_in_progress``, unless it made no progress for
    ``VOICE_TRAINING_STALE_SECONDS`` (20) — then it is requeued and answered with
    ``detail: job_resumed``. A new job answers ``detail: job_queued``; the shared job queue
    runs it in one of the server's processes. 404 ``project_not_found`` (not a member: no job is
    queued); 503 ``mongo_unavailable``.
    """
    vertebro = bundle()
    project = await _member(body.project if body is not None else "", user)
    settings = vertebro.settings
    try:
        job, detail = await vertebro.jobs.start(project, min_samples=settings.voice_min_sample_count,
                                              stale_after=settings.voice_training_stale_seconds, now=vertebro.now())
    except NotEnoughSamples as exc:
        raise ApiError(400, f"not_enough_samples:{exc.have}/{exc.need}", str(exc)) from None
    except JobInProgress:
        raise ApiError(409, "job_in_progress", "The project already has an active training job") from None
    await vertebro.run_training(job.id)
    return TrainingJobResponse(job=training_job(job), detail=Detail(detail))
