"""Virtual Banker voice operations: createVoiceSession, transcribeAudio, transcribeAudioStream,
synthesizeSpeech, synthesizeSpeechStream, getVisemes, getVoiceSessionStatus, listVoiceProviders.

Speech goes through the provider adapters only (adapters/providers): the contract's ``mock``
provider is the offline engines (espeak-ng TTS, faster-whisper ASR).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from adapters.providers import audio as codec
from adapters.providers.base import (
    AudioChunk,
    AudioDecodeError,
    ProviderError,
    ProviderNotConfigured,
    SpeechToText,
    Synthesis,
    TextToSpeech,
    Transcript,
    VoiceSettings,
)
from adapters.providers.executor import EngineBusy, speech_caller
from adapters.providers.visemes import Viseme, visemes_from_phonemes
from adapters.storage.virtual_banker.voice import VoiceSessionRecord
from core.clock import utcnow
from generated.models.virtual_banker import (
    CreateVoiceSessionRequest,
    Data1,
    Data2,
    Format,
    Provider1,
    Provider2,
    ProviderListResponse,
    ProviderStatus,
    SampleRate,
    State,
    SynthesisResponse,
    SynthesizeRequest,
    TranscribeStreamUpload,
    TranscribeUpload,
    TranscriptionEvent,
    TranscriptionResponse,
    Type,
    VisemeEvent,
    VisemeRequest,
    VisemeResponse,
    VoiceConfig,
    VoiceSession,
    VoiceSessionProviders,
    VoiceSessionResponse,
    VoiceSessionStatus,
    VoiceSessionStatusResponse,
    VoiceState,
    Word,
)
from handlers.errors import ApiError, parse_request
from handlers.request import request
from handlers.results import Reply, dump
from handlers.virtual_banker.access import owned_live_session, owned_voice_session
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.events import emit
from handlers.virtual_banker.models import SynthesisAudio, SynthesisEnvelope, TranscribeJson
from handlers.virtual_banker.ratelimit import rate_limited
from handlers.virtual_banker.replies import created, now
from handlers.virtual_banker.voice_state import activity

logger = logging.getLogger("handlers.virtual_banker.voice")

ASR_RATE = 16000
MAX_TEXT_CHARS = 5000


def _voice_settings(config: VoiceConfig | None, language: str | None = None) -> VoiceSettings:
    """The engine-neutral settings of a contract ``VoiceConfig`` (None: the engine's defaults)."""
    config = config or VoiceConfig()
    return VoiceSettings(
        voice_id=config.voice_id,
        model_id=config.model_id,
        stability=config.stability,
        similarity_boost=config.similarity_boost,
        style=config.style,
        use_speaker_boost=config.use_speaker_boost,
        language=language,
    )


def _stored_config(voice: VoiceSessionRecord) -> VoiceConfig | None:
    """The voice session's stored ``VoiceConfig`` (None when it was created without one)."""
    return VoiceConfig.model_validate(voice.voice_config) if voice.voice_config else None


def _chosen_config(requested: VoiceConfig | None, voice: VoiceSessionRecord) -> VoiceConfig | None:
    """A request's ``voice_config`` when it sets anything, else the voice session's own."""
    if requested is not None and requested.model_dump(exclude_none=True):
        return requested
    return _stored_config(voice)


def _provider_error(exc: ProviderError) -> ApiError:
    if isinstance(exc, EngineBusy):
        return _busy(exc)
    if isinstance(exc, ProviderNotConfigured):
        return ApiError(400, "PROVIDER_NOT_CONFIGURED", str(exc), details={"provider": exc.provider,
                                                                            "setting": exc.setting})
    return ApiError(503, "PROVIDER_UNAVAILABLE", f"Speech provider failed: {exc}")


def _busy(exc: EngineBusy) -> ApiError:
    """A refused speech job: 429 ``RATE_LIMITED`` when the caller's own share of the speech
    executor is full (``SPEECH_PER_CALLER`` jobs), 503 ``SPEECH_BUSY`` when the server's is
    (``SPEECH_WORKERS`` running + ``SPEECH_QUEUE`` waiting); ``Retry-After`` in seconds either way."""
    headers = {"Retry-After": str(exc.retry_after)}
    if exc.per_caller:
        return ApiError(429, "RATE_LIMITED", "Too many speech requests of this caller are in progress",
                        details={"retry_after": exc.retry_after}, headers=headers)
    return ApiError(503, "SPEECH_BUSY", "Speech processing is saturated; retry later",
                    details={"retry_after": exc.retry_after}, headers=headers)


def _charge_caller(token_info: dict[str, Any]) -> None:
    """Name the caller (tenant + user) whose share of the speech executor this request uses."""
    speech_caller(f"vb:{token_info['tenant_id']}:{token_info['sub']}")


def _tts(name: str) -> TextToSpeech:
    try:
        return bundle().providers.tts(name)
    except ProviderError as exc:
        raise _provider_error(exc) from None


def _asr(name: str) -> SpeechToText:
    try:
        return bundle().providers.asr(name)
    except ProviderError as exc:
        raise _provider_error(exc) from None


def voice_session_model(record: VoiceSessionRecord, state: str) -> VoiceSession:
    """A stored voice session as the contract's ``VoiceSession`` in its live ``state``
    (``idle|listening|thinking|speaking``); ``voice_config`` only when one was given."""
    return VoiceSession(
        session_id=record.session_id,
        state=State(state),
        provider=Provider1(asr=record.asr_provider, tts=record.tts_provider),
        voice_config=_stored_config(record),
        created_at=record.created_at.replace(microsecond=0),
    )


@rate_limited
async def create_voice_session(body: CreateVoiceSessionRequest, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/voice/sessions`` (createVoiceSession) → 201 ``VoiceSessionResponse``.

    Attaches voice providers (``asr``: mock|deepgram|google, ``tts``: mock|elevenlabs|azure;
    default ``mock`` = offline engines) and a voice config to the caller's live session
    ``session_id`` (404 otherwise). Creating it again reconfigures it; the first creation emits
    ``session.created``. A cloud provider without its key → 400 ``PROVIDER_NOT_CONFIGURED``
    naming the missing setting.
    """
    parent = await owned_live_session(body.session_id, token_info)
    asr_name = str(body.provider.asr) if body.provider else "mock"
    tts_name = str(body.provider.tts) if body.provider else "mock"
    _asr(asr_name)
    _tts(tts_name)
    s = bundle()
    existed = await s.voice.get(parent.session_id)
    voice_config = body.voice_config.model_dump(mode="json", exclude_none=True) if body.voice_config else {}
    record = await s.voice.upsert(session_id=parent.session_id, tenant_id=parent.tenant_id,
                                  user_id=parent.user_id, asr_provider=asr_name, tts_provider=tts_name,
                                  voice_config=voice_config, now=utcnow())
    if existed is None:
        await emit(parent.tenant_id, "session.created",
                   {"session_id": parent.session_id, "provider": {"asr": asr_name, "tts": tts_name}})
    data = voice_session_model(record, activity.state(record.session_id))
    return created(VoiceSessionResponse(success=True, data=data, timestamp=now()))


async def _read(upload: UploadFile) -> bytes:
    data = await upload.read()
    if not data:
        raise ApiError(400, "INVALID_AUDIO", "audio is empty")
    return data


def _base64_audio(encoded: str) -> bytes:
    """Strictly decoded base64 ``audio_data`` (400 ``INVALID_AUDIO`` if it is not base64 or empty)."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "INVALID_AUDIO", "audio_data is not valid base64") from None
    if not data:
        raise ApiError(400, "INVALID_AUDIO", "audio is empty")
    return data


async def _decode(data: bytes) -> bytes:
    """Decode an upload to 16 kHz PCM on the speech executor, at most ``SPEECH_MAX_AUDIO_SECONDS``
    long: 400 ``INVALID_AUDIO`` when it is not audio or too long; 503/429 when the executor is full."""
    s = bundle()
    try:
        return await s.providers.decode(data, ASR_RATE, s.settings.speech_max_audio_seconds)
    except AudioDecodeError as exc:
        raise ApiError(400, "INVALID_AUDIO", f"Audio could not be decoded: {exc}",
                       details={"accepted": ["wav", "mp3", "ogg", "webm"]}) from None
    except EngineBusy as exc:
        raise _busy(exc) from None


def _form(body: dict[str, Any] | None, file_field: str) -> dict[str, Any]:
    """A multipart body's form fields (connexion passes the file separately)."""
    return {k: v for k, v in (body or {}).items() if k != file_field}


def transcription_event(transcript: Transcript, include_words: bool) -> TranscriptionEvent:
    """An engine transcript as the contract's ``TranscriptionEvent``: confidence clamped to
    0-1 (4 decimals), ``timestamp`` = now (Unix seconds), ``words`` with start/end seconds
    (3 decimals) only when ``include_words``."""
    words = None
    if include_words:
        words = [Word(word=w.word, start_time=round(w.start, 3), end_time=round(w.end, 3),
                      confidence=round(w.confidence, 4) if w.confidence is not None else None)
                 for w in transcript.words]
    return TranscriptionEvent(type=Type.final if transcript.is_final else Type.partial, text=transcript.text,
                              confidence=round(min(1.0, max(0.0, transcript.confidence)), 4),
                              timestamp=int(time.time()), words=words)


def _is_multipart() -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/")


@rate_limited
async def transcribe_audio(session_id: str, token_info: dict[str, Any], body: dict[str, Any] | None = None,
                           audio: UploadFile | None = None) -> TranscriptionResponse:
    """``POST /v1/voice/sessions/{sessionId}/transcribe`` (transcribeAudio) → 200
    ``TranscriptionResponse`` (one ``final`` event; ``words`` with start/end seconds when
    ``include_words``); emits ``transcription.complete``.

    Input: multipart ``TranscribeUpload`` (``audio`` file: WAV, MP3, OGG/Opus, WebM — the
    container is detected, ``format`` is a hint only) or JSON ``TranscribeRequest``
    (``audio_data`` base64). ``body`` stays untyped for the gateway because it is either form;
    each is parsed here with its generated model. Undecodable, empty or non-base64 audio → 400
    ``INVALID_AUDIO``; engine failure → 503 ``PROVIDER_UNAVAILABLE``; the speech executor full →
    503 ``SPEECH_BUSY``, or this caller's share of it → 429 (both with ``Retry-After``).
    """
    voice = await owned_voice_session(session_id, token_info)
    _charge_caller(token_info)
    if _is_multipart():
        if audio is None:
            raise ApiError(400, "VALIDATION_ERROR", "audio is required")
        upload = parse_request(TranscribeUpload, {**_form(body, "audio"), "audio": await _read(audio)})
        data, language, include_words = upload.audio, upload.language, upload.include_words
    else:
        request_json = parse_request(TranscribeJson, body or {})
        data = _base64_audio(request_json.audio_data)
        language, include_words = request_json.language, request_json.include_words
    pcm = await _decode(data)
    engine = _asr(voice.asr_provider)
    async with activity.activity(session_id, voice.tenant_id, "listening"):
        try:
            transcript = await engine.transcribe(pcm, language, include_words)
            activity.set_error(session_id, "asr", False)
        except ProviderError as exc:
            activity.set_error(session_id, "asr", True)
            raise _provider_error(exc) from None
    event = transcription_event(transcript, include_words)
    await emit(voice.tenant_id, "transcription.complete", {"session_id": session_id, **dump(event)})
    return TranscriptionResponse(success=True, data=event, timestamp=now())


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@rate_limited
async def transcribe_audio_stream(session_id: str, token_info: dict[str, Any], body: dict[str, Any] | None = None,
                                  audio_stream: UploadFile | None = None) -> StreamingResponse:
    """``POST /v1/voice/sessions/{sessionId}/transcribe-stream`` (transcribeAudioStream) → 200
    ``text/event-stream``: ``partial`` events (``TranscriptionEvent``) while decoding proceeds,
    then one ``final`` event with words; each emits its ``transcription.*`` webhook. A failure
    mid-stream ends the stream with an ``error`` event ``{type, code, message}``.

    Input: multipart ``TranscribeStreamUpload`` (``audio_stream`` file, ``language``). Missing
    or undecodable audio → 400; a provider that cannot be used → 400/503 before the stream, and
    so is a full speech executor (503 ``SPEECH_BUSY`` / 429, with ``Retry-After``): the stream
    starts only once its first result is decoded.
    """
    voice = await owned_voice_session(session_id, token_info)
    _charge_caller(token_info)
    if audio_stream is None:
        raise ApiError(400, "VALIDATION_ERROR", "audio_stream is required")
    upload = parse_request(TranscribeStreamUpload,
                           {**_form(body, "audio_stream"), "audio_stream": await _read(audio_stream)})
    pcm = await _decode(upload.audio_stream)
    engine = _asr(voice.asr_provider)
    language = upload.language
    results = engine.stream(pcm, language, True)
    try:  # admitted (or refused with a status) before the 200 goes out
        first = await anext(results)
    except EngineBusy as exc:
        raise _busy(exc) from None
    except ProviderError as exc:
        activity.set_error(session_id, "asr", True)
        raise _provider_error(exc) from None

    async def transcripts() -> AsyncIterator[Transcript]:
        yield first
        async for transcript in results:
            yield transcript

    async def events() -> AsyncIterator[bytes]:
        async with activity.activity(session_id, voice.tenant_id, "listening"):
            try:
                async for transcript in transcripts():
                    event = dump(transcription_event(transcript, transcript.is_final))
                    if transcript.is_final:
                        yield _sse("final", event)
                        await emit(voice.tenant_id, "transcription.complete", {"session_id": session_id, **event})
                    else:
                        yield _sse("partial", event)
                        await emit(voice.tenant_id, "transcription.partial", {"session_id": session_id, **event})
                activity.set_error(session_id, "asr", False)
            except Exception as exc:  # noqa: BLE001 - the stream has started: report in-band
                activity.set_error(session_id, "asr", True)
                logger.warning("transcription stream failed: %r", exc)
                yield _sse("error", {"type": "error", "code": "PROVIDER_UNAVAILABLE", "message": str(exc)})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _synthesize(voice: VoiceSessionRecord, text: str, config: VoiceConfig | None,
                      sample_rate: int) -> Synthesis:
    engine = _tts(voice.tts_provider)
    if not text.strip():
        return Synthesis(b"", sample_rate, [])
    async with activity.activity(voice.session_id, voice.tenant_id, "speaking"):
        try:
            result = await engine.synthesize(text, _voice_settings(config), sample_rate)
            activity.set_error(voice.session_id, "tts", False)
            return result
        except ProviderError as exc:
            activity.set_error(voice.session_id, "tts", True)
            raise _provider_error(exc) from None


async def _visemes_for(text: str, synthesis: Synthesis, config: VoiceConfig | None) -> list[Viseme]:
    """Visemes from the synthesizing engine's phoneme timing; engines that report none get
    espeak-ng's timing for the same text, scaled to the real audio duration."""
    phonemes = synthesis.phonemes
    if not synthesis.pcm:
        return []
    if not phonemes:
        reference = await bundle().providers.espeak.synthesize(text, _voice_settings(config), 16000)
        scale = synthesis.duration / reference.duration if reference.duration else 1.0
        phonemes = [type(p)(p.phoneme, p.start * scale, p.end * scale) for p in reference.phonemes]
    return visemes_from_phonemes(phonemes, synthesis.duration)


def viseme_model(viseme: Viseme) -> VisemeEvent:
    """One viseme as the contract's ``VisemeEvent`` (start/end seconds, 4 decimals)."""
    return VisemeEvent(viseme=viseme.viseme, start_time=round(viseme.start, 4), end_time=round(viseme.end, 4),
                       phoneme=viseme.phoneme)


def _text(text: str) -> str:
    """The text to speak; blank text is valid and yields zero seconds of audio."""
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(400, "VALIDATION_ERROR", f"text is longer than {MAX_TEXT_CHARS} characters")
    return text


def _encode(pcm: bytes, rate: int, fmt: Format) -> bytes:
    if fmt is Format.mp3:
        return codec.encode_mp3(pcm, rate)
    if fmt is Format.wav:
        return codec.encode_wav(pcm, rate)
    return pcm


def _accepts_audio() -> str | None:
    """``audio/mpeg`` or ``audio/wav`` when the client's Accept header asks for raw audio."""
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("audio/mpeg", "audio/mp3"):
            return "audio/mpeg"
        if media in ("audio/wav", "audio/x-wav", "audio/wave"):
            return "audio/wav"
        if media in ("application/json", "*/*", "application/*"):
            return None
    return None


@rate_limited
async def synthesize_speech(session_id: str, body: SynthesizeRequest,
                            token_info: dict[str, Any]) -> SynthesisResponse | Response:
    """``POST /v1/voice/sessions/{sessionId}/synthesize`` (synthesizeSpeech) → 200.

    JSON by default (``SynthesisResponse``): base64 ``audio_data`` in ``format`` (mp3 | wav |
    pcm = raw s16le mono), ``sample_rate`` exactly as asked (16000 | 22050 | 44100 Hz),
    ``duration`` = the real audio length in seconds, ``visemes``. With ``Accept: audio/mpeg``
    or ``audio/wav`` the body is the audio itself in that container (``X-Audio-Duration``
    seconds). Emits ``synthesis.complete``. The JSON body is a ``SynthesisEnvelope``, the
    generated ``SynthesisResponse`` with ``audio_data`` as base64 text (see
    :mod:`handlers.virtual_banker.models`). Text over 5000 characters → 400; engine failure → 503;
    the TTS executor full → 503 ``SPEECH_BUSY`` / 429 (``Retry-After``).
    """
    voice = await owned_voice_session(session_id, token_info)
    _charge_caller(token_info)
    text = _text(body.text)
    rate = int(SampleRate(body.sample_rate))
    fmt = Format(body.format)
    config = _chosen_config(body.voice_config, voice)
    synthesis = await _synthesize(voice, text, config, rate)
    raw = _accepts_audio()
    await emit(voice.tenant_id, "synthesis.complete",
               {"session_id": session_id, "characters": len(text), "duration": round(synthesis.duration, 4),
                "format": "mp3" if raw == "audio/mpeg" else "wav" if raw else fmt.value, "sample_rate": rate})
    if raw == "audio/mpeg":
        return Response(codec.encode_mp3(synthesis.pcm, rate), media_type="audio/mpeg",
                        headers={"X-Audio-Duration": f"{synthesis.duration:.4f}"})
    if raw == "audio/wav":
        return Response(codec.encode_wav(synthesis.pcm, rate), media_type="audio/wav",
                        headers={"X-Audio-Duration": f"{synthesis.duration:.4f}"})
    try:
        visemes = await _visemes_for(text, synthesis, config)
    except ProviderError as exc:
        raise _provider_error(exc) from None
    data = SynthesisAudio(
        audio_data=base64.b64encode(_encode(synthesis.pcm, rate, fmt)).decode("ascii"),
        format=fmt.value,
        sample_rate=rate,
        duration=round(synthesis.duration, 6),
        visemes=[viseme_model(v) for v in visemes],
    )
    return SynthesisEnvelope(success=True, data=data, timestamp=now())


async def _no_chunks() -> AsyncIterator[AudioChunk]:
    return
    yield  # pragma: no cover - makes this an (empty) async generator


@rate_limited
async def synthesize_speech_stream(session_id: str, body: SynthesizeRequest,
                                   token_info: dict[str, Any]) -> StreamingResponse:
    """``POST /v1/voice/sessions/{sessionId}/synthesize-stream`` (synthesizeSpeechStream) → 200
    chunked audio: ``audio/mpeg`` for ``mp3``; ``audio/wav`` for ``wav`` and ``pcm`` (a WAV
    header with an open length, then s16le samples as they are synthesized) at ``sample_rate``
    Hz. The first bytes leave before a long text is fully synthesized; ``synthesis.complete``
    follows the last. A failure mid-stream ends the stream early (the headers are sent).
    """
    voice = await owned_voice_session(session_id, token_info)
    _charge_caller(token_info)
    text = _text(body.text)
    rate = int(SampleRate(body.sample_rate))
    fmt = Format(body.format)
    engine = _tts(voice.tts_provider)
    settings = _voice_settings(_chosen_config(body.voice_config, voice))

    async def chunks() -> AsyncIterator[bytes]:
        total = 0.0
        async with activity.activity(session_id, voice.tenant_id, "speaking"):
            encoder = codec.Mp3StreamEncoder(rate) if fmt is Format.mp3 else None
            if encoder is None:
                yield codec.wav_stream_header(rate)
            try:
                pieces = engine.stream(text, settings, rate) if text.strip() else _no_chunks()
                async for chunk in pieces:
                    total = chunk.offset + len(chunk.pcm) / 2 / rate
                    data = encoder.encode(chunk.pcm) if encoder else chunk.pcm
                    if data:
                        yield data
                if encoder:
                    yield encoder.flush()
                activity.set_error(session_id, "tts", False)
            except Exception as exc:  # noqa: BLE001 - headers are sent; end the stream early
                activity.set_error(session_id, "tts", True)
                logger.warning("synthesis stream failed: %r", exc)
                return
        await emit(voice.tenant_id, "synthesis.complete",
                   {"session_id": session_id, "characters": len(text), "duration": round(total, 4),
                    "format": fmt.value, "sample_rate": rate})

    media = "audio/mpeg" if fmt is Format.mp3 else "audio/wav"
    return StreamingResponse(chunks(), media_type=media, headers={"Cache-Control": "no-cache"})


@rate_limited
async def get_visemes(session_id: str, body: VisemeRequest, token_info: dict[str, Any]) -> VisemeResponse:
    """``POST /v1/voice/sessions/{sessionId}/visemes`` (getVisemes) → 200 ``VisemeResponse``:
    the 15 Oculus/Microsoft visemes (incl. ``sil``) with start/end seconds from espeak-ng's
    phoneme timing for ``text`` in the session's voice; contiguous from 0 to ``duration``
    (seconds). Text over 5000 characters → 400; engine failure → 503; the TTS executor full →
    503 ``SPEECH_BUSY`` / 429 (``Retry-After``)."""
    voice = await owned_voice_session(session_id, token_info)
    _charge_caller(token_info)
    text = _text(body.text)
    espeak = bundle().providers.espeak
    synthesis = Synthesis(b"", 16000, [])
    if text.strip():
        async with activity.activity(session_id, voice.tenant_id, "thinking"):
            try:
                synthesis = await espeak.synthesize(text, _voice_settings(_stored_config(voice)), 16000)
            except ProviderError as exc:
                raise _provider_error(exc) from None
    visemes = visemes_from_phonemes(synthesis.phonemes, synthesis.duration) if synthesis.pcm else []
    data = Data1(text=text, visemes=[viseme_model(v) for v in visemes], duration=round(synthesis.duration, 6))
    return VisemeResponse(success=True, data=data, timestamp=now())


def _provider_state(session_id: str, kind: str, name: str) -> ProviderStatus:
    if activity.failed(session_id, kind) or not bundle().providers.is_available(kind, name):
        return ProviderStatus.error
    busy = "listening" if kind == "asr" else "speaking"
    return ProviderStatus.active if activity.busy(session_id, busy) else ProviderStatus.inactive


@rate_limited
async def get_voice_session_status(session_id: str, token_info: dict[str, Any]) -> VoiceSessionStatusResponse:
    """``GET /v1/voice/sessions/{sessionId}/status`` (getVoiceSessionStatus) → 200
    ``VoiceSessionStatusResponse``: the live state (``idle|listening|thinking|speaking``) and
    each provider's status (``active`` while in use, ``inactive`` when ready, ``error`` when
    unavailable or its last call failed). 404 without a voice session."""
    voice = await owned_voice_session(session_id, token_info)
    data = VoiceSessionStatus(
        session_id=session_id,
        state=VoiceState(activity.state(session_id)),
        asr_status=_provider_state(session_id, "asr", voice.asr_provider),
        tts_status=_provider_state(session_id, "tts", voice.tts_provider),
        provider=VoiceSessionProviders(asr=voice.asr_provider, tts=voice.tts_provider),
    )
    return VoiceSessionStatusResponse(success=True, data=data, timestamp=now())


def provider_model(entry: dict[str, Any]) -> Provider2:
    """One entry of the provider registry's catalog as the contract's ``Provider``."""
    return Provider2(id=entry["id"], name=entry["name"], type=entry["type"], available=entry["available"],
                     configured=entry["configured"], features=list(entry["features"]))


@rate_limited
async def list_voice_providers(token_info: dict[str, Any]) -> ProviderListResponse:
    """``GET /v1/voice/providers`` (listVoiceProviders) → 200 ``ProviderListResponse``: every
    ASR/TTS provider with ``available`` (its engine can run), ``configured`` (credentials
    present) and features."""
    providers = [provider_model(entry) for entry in bundle().providers.catalog()]
    return ProviderListResponse(success=True, data=Data2(providers=providers), timestamp=now())
