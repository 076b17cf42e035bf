"""Vertebro responses: one typed function per entity, from storage records (or engine results) to the
generated response models of ``specs/vertebro-voice``.

This is the one place that writes the contract's two spellings. Every field the original pydantic
models aliased is set twice, under its snake_case name and its deprecated camelCase alias, from one
local value, so the two can never differ (issue 14; the contract's "Field names: both spellings").
Fields the original never aliased (history items, analytics) are snake_case only.

Success convention of this API (one for every operation, from its contract): the body is the
operation's own response model, bare (FastAPI style, no envelope), at the status the contract
declares — a handler returns the model for 200, ``Reply(model, status)`` for 201/202,
``Reply(None, 204)`` for 204, and a Starlette ``Response`` for audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.providers.intents import IntentResult
from adapters.storage.vertebro_voice.sessions import AudioRecord, InteractionRecord, VoiceSessionRecord
from adapters.storage.vertebro_voice.training import JobRecord, SampleRecord
from generated.models.vertebro_voice import (
    DialogResponse,
    HistoryItem,
    IntentResponse,
    RecognitionResult,
    SessionHistoryResponse,
    SuggestedAction,
    SynthesisResponse,
    VoiceSample,
    VoiceSessionResponse,
    VoiceTrainingJob,
    VoiceTrainingStatus,
    WsResponseMessage,
    WsTranscriptionMessage,
)
from generated.models.vertebro_voice import Type as HistoryType
from handlers.vertebro_voice.bundle import MOUNT


def instant(moment: datetime) -> datetime:
    """``moment`` in UTC at whole seconds: session times are RFC 3339 with a ``Z`` and no fraction
    (``2025-11-16T12:00:00Z``), as before the models were typed."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def epoch_seconds(moment: datetime) -> float:
    """Epoch seconds (millisecond precision) of ``moment``: training times are numbers."""
    return round(moment.timestamp(), 3)


def epoch(moment: datetime | None) -> float | None:
    """:func:`epoch_seconds` of ``moment``, None for None (a time not reached yet)."""
    return epoch_seconds(moment) if moment else None


def audio_url(entry: AudioRecord) -> str:
    """``/api/v1/voice/audio/{audio_id}``: where getAudio serves the cached ``entry``."""
    return f"{MOUNT}/audio/{entry.audio_id}"


def session_response(record: VoiceSessionRecord, websocket_url: str, greeting: str) -> VoiceSessionResponse:
    """startSession / getSession: the session's id, its ``websocket_url`` (built by the caller from
    the request's host), ``expires_at`` (aware UTC, whole seconds) and ``greeting``, in both spellings."""
    expires = instant(record.expires_at)
    return VoiceSessionResponse(
        session_id=record.session_id, sessionId=record.session_id,
        websocket_url=websocket_url, websocketUrl=websocket_url,
        expires_at=expires, expiresAt=expires,
        initial_greeting=greeting, initialGreeting=greeting,
    )


def history_item(item: InteractionRecord) -> HistoryItem:
    """getSessionHistory: one stored interaction (snake_case only, as the original's raw documents)."""
    return HistoryItem(session_id=item.session_id, project=item.project, user_id=item.user_id,
                       timestamp=instant(item.created_at), type=HistoryType(item.type), content=item.content)


def history_response(session_id: str, items: Sequence[InteractionRecord]) -> SessionHistoryResponse:
    """getSessionHistory: ``{session_id, items}`` with ``items`` in the order given (newest first)."""
    return SessionHistoryResponse(session_id=session_id, items=[history_item(i) for i in items])


def recognition_result(text: str, confidence: float, language: str, processing_time_ms: float) -> RecognitionResult:
    """recognizeSpeech: the transcription, ``confidence`` 0..1, the ``language`` tag and the time spent
    (milliseconds); ``is_final`` is always true and ``alternatives`` always null."""
    return RecognitionResult(text=text, confidence=confidence, language=language,
                             processing_time_ms=processing_time_ms, processingTimeMs=processing_time_ms,
                             is_final=True, isFinal=True, alternatives=None)


def synthesis_response(entry: AudioRecord, cached: bool) -> SynthesisResponse:
    """synthesizeSpeech: the cached entry's URL, its length in seconds and whether it was a cache hit."""
    url = audio_url(entry)
    return SynthesisResponse(audio_url=url, audioUrl=url, duration_seconds=entry.duration_seconds,
                             durationSeconds=entry.duration_seconds, cached=cached)


def suggested_action(action: dict[str, Any] | None) -> SuggestedAction | None:
    """An action object (``type`` plus whatever it carries: ``url``, ``query``, ``method`` …), or None."""
    return SuggestedAction.model_validate(action) if action is not None else None


def intent_response(result: IntentResult) -> IntentResponse:
    """detectIntent: the engine's intent, confidence 0..1, entities and suggested action (null when none)."""
    action = suggested_action(result.suggested_action)
    return IntentResponse(intent=result.intent, confidence=result.confidence, entities=dict(result.entities),
                          suggested_action=action, suggestedAction=action)


def dialog_response(text: str, url: str | None, sources: list[dict[str, Any]],
                    actions: list[dict[str, Any]]) -> DialogResponse:
    """generateDialogResponse: one answered turn, ``type: "response"``; ``url`` is the synthesized
    answer's audio (None when synthesis failed)."""
    return DialogResponse(type="response", text=text, audio_url=url, audioUrl=url, sources=sources,
                          suggested_actions=actions, suggestedActions=actions)


def ws_response(text: str, url: str | None, sources: list[dict[str, Any]],
                actions: list[dict[str, Any]]) -> WsResponseMessage:
    """The WebSocket ``response`` frame of one answered turn (the same fields as :func:`dialog_response`)."""
    return WsResponseMessage(type="response", text=text, audio_url=url, audioUrl=url, sources=sources,
                             suggested_actions=actions, suggestedActions=actions)


def ws_transcription(text: str, confidence: float) -> WsTranscriptionMessage:
    """The WebSocket ``transcription`` frame of an ended utterance (always final; ``confidence`` 0..1)."""
    return WsTranscriptionMessage(type="transcription", text=text, is_final=True, isFinal=True,
                                  confidence=confidence)


def voice_sample(sample: SampleRecord) -> VoiceSample:
    """listVoiceSamples / uploadVoiceSamples / deleteVoiceSample: one sample; ``size_bytes`` bytes,
    ``duration_seconds`` seconds, ``uploaded_at`` epoch seconds."""
    uploaded = epoch_seconds(sample.uploaded_at)
    return VoiceSample(id=sample.id, project=sample.project, filename=sample.filename,
                       file_id=sample.file_id, fileId=sample.file_id,
                       content_type=sample.content_type, contentType=sample.content_type,
                       size_bytes=sample.size_bytes, sizeBytes=sample.size_bytes,
                       duration_seconds=sample.duration_seconds, durationSeconds=sample.duration_seconds,
                       uploaded_at=uploaded, uploadedAt=uploaded)


def training_job(job: JobRecord) -> VoiceTrainingJob:
    """listTrainingJobs / getTrainingStatus / startTraining: one job; ``progress`` percent 0..100
    (two decimals), times in epoch seconds (null until reached)."""
    created, started, finished = epoch(job.created_at), epoch(job.started_at), epoch(job.finished_at)
    return VoiceTrainingJob(id=job.id, project=job.project, status=VoiceTrainingStatus(job.status),
                            progress=round(job.progress, 2), message=job.message,
                            created_at=created, createdAt=created, started_at=started, startedAt=started,
                            finished_at=finished, finishedAt=finished)
