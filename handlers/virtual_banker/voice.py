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

from connexion import request
from starlette.responses import Response, StreamingResponse

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError, ProviderError, ProviderNotConfigured, Synthesis, VoiceSettings
from adapters.providers.visemes import visemes_from_phonemes
from core.clock import isoformat, utcnow
from generated.models.virtual_banker import (
    CreateVoiceSessionRequest,
    SynthesizeRequest,
    TranscriptionEvent,
    TranscriptionResponse,
    VisemeEvent,
    VoiceConfig,
    VoiceSession,
    VoiceSessionResponse,
)
from handlers.virtual_banker.bundle import bundle
from handlers.errors import ApiError, parse_request
from handlers.virtual_banker.access import owned_live_session, owned_voice_session
from handlers.virtual_banker.events import emit
from handlers.virtual_banker.ratelimit import rate_limited
from handlers.virtual_banker.voice_state import activity

logger = logging.getLogger("handlers.virtual_banker.voice")

ASR_RATE = 16000
MAX_TEXT_CHARS = 5000


JSON = {"Content-Type": "application/json"}


def _now():
    return utcnow().replace(microsecond=0)


def _value(field: Any) -> Any:
    """An enum member's value, or the value itself (model defaults stay plain)."""
    return getattr(field, "value", field)


def _json(model) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _voice_settings(config: dict[str, Any] | None, language: str | None = None) -> VoiceSettings:
    config = config or {}
    return VoiceSettings(
        voice_id=config.get("voice_id"),
        model_id=config.get("model_id"),
        stability=config.get("stability"),
        similarity_boost=config.get("similarity_boost"),
        style=config.get("style"),
        use_speaker_boost=config.get("use_speaker_boost"),
        language=language,
    )


def _provider_error(exc: Exception) -> ApiError:
    if isinstance(exc, ProviderNotConfigured):
        return ApiError(400, "PROVIDER_NOT_CONFIGURED", str(exc), details={"provider": exc.provider,
                                                                            "setting": exc.setting})
    return ApiError(503, "PROVIDER_UNAVAILABLE", f"Speech provider failed: {exc}")


def _tts(name: str):
    try:
        return bundle().providers.tts(name)
    except ProviderError as exc:
        raise _provider_error(exc) from None


def _asr(name: str):
    try:
        return bundle().providers.asr(name)
    except ProviderError as exc:
        raise _provider_error(exc) from None


def _voice_session_json(record, state: str) -> VoiceSession:
    return VoiceSession(
        session_id=record.session_id,
        state=state,
        provider={"asr": record.asr_provider, "tts": record.tts_provider},
        voice_config=VoiceConfig.model_validate(record.voice_config) if record.voice_config else None,
        created_at=record.created_at.replace(microsecond=0),
    )


@rate_limited
async def create_voice_session(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/voice/sessions`` (createVoiceSession) → 201 ``VoiceSessionResponse``.

    Attaches voice providers (``asr``: mock|deepgram|google, ``tts``: mock|elevenlabs|azure;
    default ``mock`` = offline engines) and a voice config to the caller's live session
    ``session_id`` (404 otherwise). Creating it again reconfigures it. A cloud provider
    without its key → 400 ``PROVIDER_NOT_CONFIGURED`` naming the missing setting.
    """
    req = parse_request(CreateVoiceSessionRequest, body)
    parent = await owned_live_session(req.session_id, token_info)
    asr_name = _value(req.provider.asr) if req.provider and req.provider.asr else "mock"
    tts_name = _value(req.provider.tts) if req.provider and req.provider.tts else "mock"
    _asr(asr_name)
    _tts(tts_name)
    s = bundle()
    existed = await s.voice.get(parent.session_id)
    voice_config = req.voice_config.model_dump(mode="json", exclude_none=True) if req.voice_config else {}
    record = await s.voice.upsert(session_id=parent.session_id, tenant_id=parent.tenant_id,
                                     user_id=parent.user_id, asr_provider=asr_name, tts_provider=tts_name,
                                     voice_config=voice_config, now=utcnow())
    if existed is None:
        await emit(parent.tenant_id, "session.created",
                   {"session_id": parent.session_id, "provider": {"asr": asr_name, "tts": tts_name}})
    data = _voice_session_json(record, activity.state(record.session_id))
    return _json(VoiceSessionResponse(success=True, data=data, timestamp=_now())), 201


async def _audio_bytes(body: dict[str, Any] | None, upload) -> bytes:
    if upload is not None:
        data = await upload.read()
    else:
        encoded = (body or {}).get("audio_data")
        if not isinstance(encoded, str):
            raise ApiError(400, "VALIDATION_ERROR", "audio_data (base64) is required")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_AUDIO", "audio_data is not valid base64") from None
    if not data:
        raise ApiError(400, "INVALID_AUDIO", "audio is empty")
    return data


def _decode(data: bytes) -> bytes:
    try:
        return codec.decode(data, sample_rate=ASR_RATE)
    except AudioDecodeError as exc:
        raise ApiError(400, "INVALID_AUDIO", f"Audio could not be decoded: {exc}",
                       details={"accepted": ["wav", "mp3", "ogg", "webm"]}) from None


def _event(transcript, include_words: bool) -> TranscriptionEvent:
    words = None
    if include_words:
        words = [{"word": w.word, "start_time": round(w.start, 3), "end_time": round(w.end, 3),
                  **({"confidence": round(w.confidence, 4)} if w.confidence is not None else {})}
                 for w in transcript.words]
    return TranscriptionEvent(type="final" if transcript.is_final else "partial", text=transcript.text,
                              confidence=round(min(1.0, max(0.0, transcript.confidence)), 4),
                              timestamp=int(time.time()), words=words)


@rate_limited
async def transcribe_audio(session_id: str, token_info: dict[str, Any], body: dict[str, Any] | None = None,
                           audio=None):
    """``POST /v1/voice/sessions/{sessionId}/transcribe`` (transcribeAudio) → 200
    ``TranscriptionResponse`` (one ``final`` event; ``words`` with start/end seconds when
    ``include_words``).

    Input: multipart ``audio`` file (WAV, MP3, OGG/Opus, WebM) or JSON ``audio_data``
    (base64). Undecodable audio → 400 ``INVALID_AUDIO``; engine failure → 503.
    """
    voice = await owned_voice_session(session_id, token_info)
    body = body or {}
    include_words = bool(body.get("include_words", False))
    pcm = _decode(await _audio_bytes(body, audio))
    engine = _asr(voice.asr_provider)
    async with activity.activity(session_id, voice.tenant_id, "listening"):
        try:
            transcript = await engine.transcribe(pcm, body.get("language"), include_words)
            activity.set_error(session_id, "asr", False)
        except ProviderError as exc:
            activity.set_error(session_id, "asr", True)
            raise _provider_error(exc) from None
    event = _event(transcript, include_words)
    await emit(voice.tenant_id, "transcription.complete", {"session_id": session_id, **_json(event)})
    return _json(TranscriptionResponse(success=True, data=event, timestamp=_now())), 200


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@rate_limited
async def transcribe_audio_stream(session_id: str, token_info: dict[str, Any], body: dict[str, Any] | None = None,
                                  audio_stream=None):
    """``POST /v1/voice/sessions/{sessionId}/transcribe-stream`` (transcribeAudioStream) → 200
    ``text/event-stream``: ``partial`` events while decoding proceeds, then one ``final``
    event with words. A failure mid-stream ends the stream with an ``error`` event.
    """
    voice = await owned_voice_session(session_id, token_info)
    body = body or {}
    if audio_stream is None:
        raise ApiError(400, "VALIDATION_ERROR", "audio_stream is required")
    pcm = _decode(await _audio_bytes(None, audio_stream))
    engine = _asr(voice.asr_provider)
    language = body.get("language")

    async def events() -> AsyncIterator[bytes]:
        async with activity.activity(session_id, voice.tenant_id, "listening"):
            try:
                async for transcript in engine.stream(pcm, language, True):
                    event = _json(_event(transcript, transcript.is_final))
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


async def _synthesize(voice, text: str, voice_config: dict[str, Any] | None, sample_rate: int) -> Synthesis:
    engine = _tts(voice.tts_provider)
    if not text.strip():
        return Synthesis(b"", sample_rate, [])
    async with activity.activity(voice.session_id, voice.tenant_id, "speaking"):
        try:
            result = await engine.synthesize(text, _voice_settings(voice_config or voice.voice_config), sample_rate)
            activity.set_error(voice.session_id, "tts", False)
            return result
        except ProviderError as exc:
            activity.set_error(voice.session_id, "tts", True)
            raise _provider_error(exc) from None


async def _visemes_for(text: str, synthesis: Synthesis, voice_config: dict[str, Any] | None):
    """Visemes from the synthesizing engine's phoneme timing; engines that report none get
    espeak-ng's timing for the same text, scaled to the real audio duration."""
    phonemes = synthesis.phonemes
    if not synthesis.pcm:
        return []
    if not phonemes:
        reference = await bundle().providers.espeak.synthesize(text, _voice_settings(voice_config), 16000)
        scale = synthesis.duration / reference.duration if reference.duration else 1.0
        phonemes = [type(p)(p.phoneme, p.start * scale, p.end * scale) for p in reference.phonemes]
    return visemes_from_phonemes(phonemes, synthesis.duration)


def _viseme_json(visemes) -> list[dict[str, Any]]:
    return [_json(VisemeEvent(viseme=v.viseme, start_time=round(v.start, 4), end_time=round(v.end, 4),
                              phoneme=v.phoneme)) for v in visemes]


def _text(body: dict[str, Any]) -> str:
    """The text to speak; blank text is valid and yields zero seconds of audio."""
    text = str(body.get("text", ""))
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(400, "VALIDATION_ERROR", f"text is longer than {MAX_TEXT_CHARS} characters")
    return text


def _encode(pcm: bytes, rate: int, fmt: str) -> bytes:
    if fmt == "mp3":
        return codec.encode_mp3(pcm, rate)
    if fmt == "wav":
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
async def synthesize_speech(session_id: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/voice/sessions/{sessionId}/synthesize`` (synthesizeSpeech) → 200.

    JSON by default: base64 ``audio_data`` in ``format`` (mp3 | wav | pcm = raw s16le mono),
    ``sample_rate`` exactly as asked (16000 | 22050 | 44100 Hz), ``duration`` = the real audio
    length in seconds, ``visemes``. With ``Accept: audio/mpeg`` or ``audio/wav`` the body is
    the audio itself in that container.
    """
    voice = await owned_voice_session(session_id, token_info)
    req = parse_request(SynthesizeRequest, body)
    text = _text(body)
    rate = int(_value(req.sample_rate) if req.sample_rate is not None else 44100)
    fmt = _value(req.format) if req.format is not None else "mp3"
    config = req.voice_config.model_dump(mode="json", exclude_none=True) if req.voice_config else None
    synthesis = await _synthesize(voice, text, config, rate)
    raw = _accepts_audio()
    await emit(voice.tenant_id, "synthesis.complete",
               {"session_id": session_id, "characters": len(text), "duration": round(synthesis.duration, 4),
                "format": "mp3" if raw == "audio/mpeg" else "wav" if raw else fmt, "sample_rate": rate})
    if raw == "audio/mpeg":
        return Response(codec.encode_mp3(synthesis.pcm, rate), media_type="audio/mpeg",
                        headers={"X-Audio-Duration": f"{synthesis.duration:.4f}"})
    if raw == "audio/wav":
        return Response(codec.encode_wav(synthesis.pcm, rate), media_type="audio/wav",
                        headers={"X-Audio-Duration": f"{synthesis.duration:.4f}"})
    visemes = await _visemes_for(text, synthesis, config or voice.voice_config)
    return {
        "success": True,
        "data": {
            "audio_data": base64.b64encode(_encode(synthesis.pcm, rate, fmt)).decode("ascii"),
            "format": fmt,
            "sample_rate": rate,
            "duration": round(synthesis.duration, 6),
            "visemes": _viseme_json(visemes),
        },
        "timestamp": isoformat(_now()),
    }, 200, JSON


async def _no_chunks():
    return
    yield  # pragma: no cover - makes this an (empty) async generator


@rate_limited
async def synthesize_speech_stream(session_id: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/voice/sessions/{sessionId}/synthesize-stream`` (synthesizeSpeechStream) → 200
    chunked audio: ``audio/mpeg`` for ``mp3``; ``audio/wav`` for ``wav`` and ``pcm`` (a WAV
    header with an open length, then s16le samples as they are synthesized). The first bytes
    leave before a long text is fully synthesized.
    """
    voice = await owned_voice_session(session_id, token_info)
    text = _text(body)
    rate = int(body.get("sample_rate", 44100))
    fmt = body.get("format", "mp3")
    config = body.get("voice_config")
    engine = _tts(voice.tts_provider)
    settings = _voice_settings(config or voice.voice_config)

    async def chunks() -> AsyncIterator[bytes]:
        total = 0.0
        async with activity.activity(session_id, voice.tenant_id, "speaking"):
            encoder = codec.Mp3StreamEncoder(rate) if fmt == "mp3" else None
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
                    "format": fmt, "sample_rate": rate})

    media = "audio/mpeg" if fmt == "mp3" else "audio/wav"
    return StreamingResponse(chunks(), media_type=media, headers={"Cache-Control": "no-cache"})


@rate_limited
async def get_visemes(session_id: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/voice/sessions/{sessionId}/visemes`` (getVisemes) → 200 ``VisemeResponse``:
    the 15 Oculus/Microsoft visemes (incl. ``sil``) with start/end seconds from espeak-ng's
    phoneme timing for ``text`` in the session's voice; contiguous from 0 to ``duration``."""
    voice = await owned_voice_session(session_id, token_info)
    text = _text(body)
    espeak = bundle().providers.espeak
    synthesis = Synthesis(b"", 16000, [])
    if text.strip():
        async with activity.activity(session_id, voice.tenant_id, "thinking"):
            try:
                synthesis = await espeak.synthesize(text, _voice_settings(voice.voice_config), 16000)
            except ProviderError as exc:
                raise _provider_error(exc) from None
    visemes = visemes_from_phonemes(synthesis.phonemes, synthesis.duration) if synthesis.pcm else []
    return {
        "success": True,
        "data": {"text": text, "visemes": _viseme_json(visemes), "duration": round(synthesis.duration, 6)},
        "timestamp": isoformat(_now()),
    }, 200


def _provider_state(session_id: str, kind: str, name: str) -> str:
    if activity.failed(session_id, kind) or not bundle().providers.is_available(kind, name):
        return "error"
    busy = "listening" if kind == "asr" else "speaking"
    return "active" if activity.busy(session_id, busy) else "inactive"


@rate_limited
async def get_voice_session_status(session_id: str, token_info: dict[str, Any]):
    """``GET /v1/voice/sessions/{sessionId}/status`` (getVoiceSessionStatus) → 200 the live state
    (``idle|listening|thinking|speaking``) and each provider's status (``active`` while in
    use, ``inactive`` when ready, ``error`` when unavailable or its last call failed)."""
    voice = await owned_voice_session(session_id, token_info)
    return {
        "success": True,
        "data": {
            "session_id": session_id,
            "state": activity.state(session_id),
            "asr_status": _provider_state(session_id, "asr", voice.asr_provider),
            "tts_status": _provider_state(session_id, "tts", voice.tts_provider),
            "provider": {"asr": voice.asr_provider, "tts": voice.tts_provider},
        },
        "timestamp": isoformat(_now()),
    }, 200


@rate_limited
async def list_voice_providers(token_info: dict[str, Any]):
    """``GET /v1/voice/providers`` (listVoiceProviders) → 200 every ASR/TTS provider with
    ``available`` (its engine can run), ``configured`` (credentials present) and features."""
    return {
        "success": True,
        "data": {"providers": bundle().providers.catalog()},
        "timestamp": isoformat(_now()),
    }, 200
