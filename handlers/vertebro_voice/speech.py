"""Vertebro speech: recognizeSpeech, synthesizeSpeech, getAudio, and the audio cache they share
with the dialog operations.

Engines come from the shared provider registry (``VOICE_ASR_PROVIDER`` / ``VOICE_TTS_PROVIDER``,
default ``mock``): espeak-ng for synthesis (Russian and English voices) and faster-whisper with
Whisper tiny.en for recognition. The bundled recogniser is English-only: audio in another
language is decoded as English and the result reports ``language: "en"`` (set ``ASR_MODEL_DIR``
to a multilingual Whisper model to recognise Russian).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from starlette.responses import Response

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError, ProviderError, VoiceSettings
from adapters.providers.executor import EngineBusy, speech_caller
from adapters.storage.vertebro_voice.files import FileNotStored
from adapters.storage.vertebro_voice.sessions import AudioRecord, VoiceSessionRecord
from generated.models.vertebro_voice import RecognitionRequest, RecognitionResult, SynthesisRequest
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.vertebro_voice.bundle import bundle
from handlers.vertebro_voice.envelope import limit_json
from handlers.vertebro_voice.guard import guarded
from handlers.vertebro_voice.responses import recognition_result, synthesis_response
from handlers.vertebro_voice.sessions import touch
from handlers.vertebro_voice.spelling import either

ASR_RATE = 16000
MAX_OPTIONS_BYTES = 4096
DEFAULT_SAMPLE_RATE = 22050
MAX_AUDIO_SECONDS = 300.0


async def record(session: VoiceSessionRecord | None, type_: str, content: dict[str, Any]) -> None:
    """Add a history item of ``type_`` (recognition, synthesis, intent, user, assistant) with JSON
    ``content`` to ``session``; a no-op without a session."""
    if session is not None:
        vertebro = bundle()
        await vertebro.history.add(session, type_, content, vertebro.now())


def _language_of(transcript_language: str | None, requested: str) -> str:
    """The requested tag when the engine decoded that language, else what the engine decoded."""
    primary = requested.replace("_", "-").split("-")[0].lower()
    if not transcript_language or transcript_language.lower() == primary:
        return requested
    return transcript_language


def _decode_base64(raw: str | None) -> bytes | None:
    """The bytes of ``audio_base64`` (None when absent); 400 ``invalid_audio_payload`` when it is not
    valid base64 (the model leaves the value a string: the contract's error is 400, not 422)."""
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_audio_payload", "audio_base64 is not valid base64") from None


def _recognizer_busy(exc: EngineBusy) -> ApiError:
    """The speech executor refused the job: 429 ``too_many_requests`` (this caller's share is
    full) or 503 ``stt_busy`` (the executor is), both with ``Retry-After`` seconds."""
    headers = {"Retry-After": str(exc.retry_after)}
    if exc.per_caller:
        return ApiError(429, "too_many_requests", str(exc), headers=headers)
    return ApiError(503, "stt_busy", str(exc), headers=headers)


@guarded
async def recognize_speech(body: RecognitionRequest, user: str | None = None) -> RecognitionResult:
    """``POST /recognize`` (recognizeSpeech) → 200 ``RecognitionResult``.

    ``text_hint`` (or ``textHint``), when given, is the transcription (confidence 1.0: nothing was
    recognised); otherwise ``audio_base64`` (or ``audioBase64``: WAV, MP3, OGG/Opus, WebM, FLAC …
    up to 300 s) is recognised. ``confidence`` is the recogniser's mean word probability (0..1);
    ``processing_time_ms`` is measured in milliseconds (decode + recognition). ``language`` is the
    requested tag, or the language the engine actually decoded when it differs (``en`` for the
    bundled English-only model). Without audio (absent, null or empty) and without a hint nothing
    is heard: ``text`` is empty and ``confidence`` 0. Errors: 400 ``invalid_audio_payload`` (not
    base64), 415 ``unsupported_audio_format`` (not decodable audio), 404 ``voice_session_not_found``
    (``session_id`` given but not live or not the caller's), 503 ``stt_unavailable`` / ``mongo_unavailable``; 503
    ``stt_busy`` / 429 ``too_many_requests`` with ``Retry-After`` when the speech executor, or this
    user's share of it (``SPEECH_PER_CALLER``), is full.
    With ``session_id`` (or ``sessionId``) the result is recorded in that session's history.
    """
    language = body.language or "ru-RU"
    hint = either(body.text_hint, body.textHint)
    session_id = either(body.session_id, body.sessionId)
    data = _decode_base64(either(body.audio_base64, body.audioBase64))
    started = time.perf_counter()
    pcm = None
    speech_caller(f"vertebro:{user}" if user else None)
    if hint is None and data:  # decoded before anything is recorded: a 415 changes no state
        try:
            pcm = await bundle().providers.decode(data, ASR_RATE, MAX_AUDIO_SECONDS)
        except AudioDecodeError as exc:
            raise ApiError(415, "unsupported_audio_format", str(exc)) from None
        except EngineBusy as exc:
            raise _recognizer_busy(exc) from None
    spent = time.perf_counter() - started
    session = await touch(session_id, await bundle().scope(user)) if session_id else None
    started = time.perf_counter()
    if hint is not None:
        text, confidence, result_language, source = hint, 1.0, language, "text_hint"
    elif pcm is None:  # no audio at all: nothing was heard
        text, confidence, result_language, source = "", 0.0, language, "none"
    else:
        try:
            engine = bundle().providers.asr(bundle().settings.voice_asr_provider)
            transcript = await engine.transcribe(pcm, language, False)
        except EngineBusy as exc:
            raise _recognizer_busy(exc) from None
        except ProviderError as exc:
            raise ApiError(503, "stt_unavailable", f"speech recogniser failed: {exc}") from None
        text = transcript.text
        confidence = round(min(1.0, max(0.0, transcript.confidence)), 4)
        result_language, source = _language_of(transcript.language, language), "audio"
    elapsed_ms = round((spent + time.perf_counter() - started) * 1000.0, 2)  # decode + recognition
    await record(session, "recognition", {"text": text, "confidence": confidence, "language": result_language,
                                          "processing_time_ms": elapsed_ms, "source": source})
    return recognition_result(text, confidence, result_language, elapsed_ms)


def cache_key(text: str, voice: str, language: str, emotion: str, options: Mapping[str, Any],
              owner_scope: str = "") -> str:
    """SHA-256 (hex) over the owner scope (``p:<project>`` or ``u:<user>``: entries are never shared
    between projects or users, so ``cached`` reveals nothing about another user's requests), text,
    voice, language, emotion and options (canonical JSON)."""
    material = json.dumps([owner_scope, text, voice, language, emotion, dict(options)], sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


async def synthesize_cached(text: str, *, voice: str = "default", language: str = "ru-RU",
                            emotion: str = "neutral", rate: float = 1.0, sample_rate: int = DEFAULT_SAMPLE_RATE,
                            extra_options: Mapping[str, Any] | None = None, project: str | None = None,
                            owner: str | None = None) -> tuple[AudioRecord, bool]:
    """The cached MP3 of ``text`` (synthesized and stored on a miss): ``(entry, cached)``.

    The entry belongs to ``project`` (its members may fetch it) or, without one, to the Basic user
    ``owner``; the cache is separate per project / user.

    ``rate`` is the speaking-speed factor (0.25..4), ``sample_rate`` the MP3's Hz (one of the MP3
    rates); ``extra_options`` are the request's other ``options`` keys, which only distinguish cache
    entries. Raises ApiError 503 ``tts_unavailable`` when the engine fails (``StorageUnavailable``
    when the database does).
    """
    vertebro = bundle()
    options = {**(extra_options or {}), "rate": float(rate), "sample_rate": int(sample_rate)}  # defaults explicit
    owner_scope = f"p:{project}" if project is not None else f"u:{owner or ''}"
    key = cache_key(text, voice, language, emotion, options, owner_scope)
    hit = await vertebro.audio.hit(key, vertebro.now(), vertebro.audio_fresh_after())
    if hit is not None:
        return hit, True
    try:
        engine = vertebro.providers.tts(vertebro.settings.voice_tts_provider)
        synthesis = await engine.synthesize(text, VoiceSettings(voice_id=None if voice == "default" else voice,
                                                                language=language, rate=float(rate)), int(sample_rate))
    except ProviderError as exc:
        raise ApiError(503, "tts_unavailable", f"speech synthesiser failed: {exc}") from None
    mp3 = await anyio.to_thread.run_sync(codec.encode_mp3, synthesis.pcm, synthesis.sample_rate)
    file_id = await vertebro.files.put("audio", mp3)
    now = vertebro.now()
    entry = AudioRecord(audio_id=uuid.uuid4().hex, cache_key=key, text=text, voice=voice, language=language,
                        emotion=emotion, options=options, format="mp3", file_id=file_id, size_bytes=len(mp3),
                        duration_seconds=round(synthesis.duration, 4), created_at=now, accessed_at=now,
                        project=project, owner=None if project is not None else owner)
    stored, stale = await vertebro.audio.add(entry, vertebro.audio_fresh_after())
    if stored.audio_id != entry.audio_id:  # a concurrent request cached the same key first
        await vertebro.files.delete(file_id)
        return stored, True
    if stale:
        await vertebro.files.delete(stale)
    return stored, False


@guarded
async def synthesize_speech(body: SynthesisRequest, user: str | None = None) -> Reply:
    """``POST /synthesize`` (synthesizeSpeech) → 202 ``SynthesisResponse`` ``{audio_url,
    duration_seconds, cached}`` (with the camelCase aliases).

    The MP3 is synthesized (espeak-ng by default) and stored in the audio cache before the
    answer, so ``audio_url`` serves at once. Cache key: text, voice, language, emotion and
    options; a hit answers ``cached: true`` and refreshes the entry's last access.
    ``duration_seconds`` is the real length (seconds) of the synthesized audio. ``options``:
    ``rate`` (0.25..4, speaking speed) and ``sample_rate`` (MP3 Hz, default 22050); other keys only
    distinguish cache entries. ``emotion`` is recorded but espeak-ng has no emotional styles.
    With ``session_id`` (or ``sessionId``) the synthesis is recorded in that session's history (404
    ``voice_session_not_found`` if not live or not the caller's). The audio belongs to the session's
    project (its members may fetch it), or without a session to the caller alone. Errors: 422
    (validation: empty or over 5000 characters, bad options), 503 ``tts_unavailable`` /
    ``mongo_unavailable``.
    """
    options = body.options
    limit_json(options.model_dump(mode="json", exclude_unset=True), MAX_OPTIONS_BYTES, ["body", "options"])
    session_id = either(body.session_id, body.sessionId)
    session = await touch(session_id, await bundle().scope(user)) if session_id else None
    entry, cached = await synthesize_cached(body.text, voice=body.voice or "default", language=body.language or "ru-RU",
                                            emotion=body.emotion or "neutral", rate=options.rate,
                                            sample_rate=int(options.sample_rate), extra_options=options.model_extra,
                                            project=session.project if session else None, owner=user)
    result = synthesis_response(entry, cached)
    await record(session, "synthesis", {"text": body.text, "audio_url": result.audio_url,
                                        "duration_seconds": result.duration_seconds, "cached": cached})
    return Reply(result, 202)


@guarded
async def get_audio(audio_id: str, user: str | None = None) -> Response:
    """``GET /audio/{audio_id}`` (getAudio) → 200 the cached audio (``audio/mpeg``, or ``audio/wav``
    for a WAV entry) with ``Content-Disposition: inline; filename="{audio_id}.mp3"`` (or ``.wav``);
    each access keeps the entry cached for another ``VOICE_AUDIO_CACHE_TTL`` seconds. 404
    ``audio_not_found`` when unknown, expired or not the caller's (audio of a project it is not a
    member of, or another user's session-less synthesis; nothing is changed then); 503
    ``mongo_unavailable``."""
    vertebro = bundle()
    entry = await vertebro.audio.get(audio_id, vertebro.now(), vertebro.audio_fresh_after(),
                                     await vertebro.scope(user))
    if entry is None:
        raise ApiError(404, "audio_not_found", "Unknown or expired audio")
    try:
        data = await vertebro.files.get(entry.file_id)
    except FileNotStored:
        raise ApiError(404, "audio_not_found", "Unknown or expired audio") from None
    media = codec.mime_type(entry.format)
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'inline; filename="{audio_id}.{entry.format}"'})
