"""ElevenLabsTTS against recorded-shape payloads on a MockTransport (no network)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from adapters.providers.base import (
    AudioChunk,
    PhonemeEvent,
    ProviderError,
    ProviderNotConfigured,
    TextToSpeech,
    VoiceSettings,
)
from adapters.providers.cloud._http import VendorHTTPError
from adapters.providers.cloud.elevenlabs import ElevenLabsTTS

from .conftest import Recorder, fixture_bytes, fixture_json, raises_on

KEY = "sk_el_TEST_5f0c9a1b2c3d4e5f60718293a4b5c6d7"
TEXT = 'Hello, "Ada" & <Bob>!'
PCM16 = fixture_bytes("elevenlabs_hello_pcm_16000.pcm")


def make(rec: Recorder, **kw) -> ElevenLabsTTS:
    return ElevenLabsTTS(KEY, client=rec.client(), **kw)


def test_requires_api_key():
    for missing in (None, ""):
        with pytest.raises(ProviderNotConfigured) as err:
            ElevenLabsTTS(missing)
        assert err.value.provider == "elevenlabs"
        assert err.value.setting == "ELEVENLABS_API_KEY"
        assert "ELEVENLABS_API_KEY" in str(err.value)


def test_from_env_names_the_variable(monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(ProviderNotConfigured, match="ELEVENLABS_API_KEY"):
        ElevenLabsTTS.from_env()
    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    assert ElevenLabsTTS.from_env(transport=Recorder().transport).name == "elevenlabs"


def test_satisfies_protocol():
    assert isinstance(ElevenLabsTTS(KEY, transport=Recorder().transport), TextToSpeech)


async def test_synthesize_with_timestamps_request_and_parsing():
    rec = Recorder(httpx.Response(200, json=fixture_json("elevenlabs_with_timestamps.json")))
    tts = make(rec)
    result = await tts.synthesize(TEXT, VoiceSettings(), 16000)

    req = rec.only
    assert req.method == "POST"
    assert req.url.scheme == "https" and req.url.host == "api.elevenlabs.io"
    assert req.url.path == "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/with-timestamps"
    assert dict(req.url.params) == {"output_format": "pcm_16000"}
    assert req.headers["xi-api-key"] == KEY
    assert req.headers["content-type"] == "application/json"
    assert json.loads(rec.bodies[0]) == {
        "text": TEXT,
        "model_id": "eleven_multilingual_v2",
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "use_speaker_boost": True},
    }

    assert result.pcm == PCM16
    assert result.sample_rate == 16000
    assert result.duration == pytest.approx(0.75)
    # character-level events, whitespace dropped, in text order, from ``alignment``
    assert "".join(p.phoneme for p in result.phonemes) == TEXT.replace(" ", "")
    assert result.phonemes[0] == PhonemeEvent("H", 0.0, 0.046)
    assert all(p.end >= p.start for p in result.phonemes)
    assert all(b.start >= a.start for a, b in zip(result.phonemes, result.phonemes[1:], strict=False))


async def test_voice_settings_model_and_speed_are_sent():
    rec = Recorder(httpx.Response(200, json=fixture_json("elevenlabs_with_timestamps.json")))
    voice = VoiceSettings(
        voice_id="my/cloned voice",
        model_id="eleven_turbo_v2_5",
        stability=0.3,
        similarity_boost=0.9,
        style=0.2,
        use_speaker_boost=False,
        rate=1.5,
    )
    await make(rec).synthesize("Hi", voice, 16000)
    req = rec.only
    assert req.url.raw_path.startswith(b"/v1/text-to-speech/my%2Fcloned%20voice/with-timestamps")
    body = json.loads(rec.bodies[0])
    assert body["model_id"] == "eleven_turbo_v2_5"
    assert body["voice_settings"] == {
        "stability": 0.3,
        "similarity_boost": 0.9,
        "style": 0.2,
        "use_speaker_boost": False,
        "speed": 1.2,
    }


async def test_plain_endpoint_returns_raw_pcm_without_timing():
    rec = Recorder(httpx.Response(200, content=PCM16, headers={"content-type": "audio/pcm"}))
    result = await make(rec, with_timestamps=False).synthesize("Hello", VoiceSettings(), 16000)
    req = rec.only
    assert req.url.path == "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM"
    assert req.url.params["output_format"] == "pcm_16000"
    assert result.pcm == PCM16 and result.phonemes == []


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100])
async def test_native_rates_are_requested_directly(rate):
    rec = Recorder(httpx.Response(200, content=b"\x01\x00" * rate))
    result = await make(rec, with_timestamps=False).synthesize("x", VoiceSettings(), rate)
    assert rec.only.url.params["output_format"] == f"pcm_{rate}"
    assert result.sample_rate == rate and len(result.pcm) == 2 * rate


@pytest.mark.parametrize(("wanted", "asked"), [(48000, 44100), (32000, 44100), (11025, 16000)])
async def test_other_rates_are_resampled_locally(wanted, asked):
    vendor = fixture_bytes("elevenlabs_hello_pcm_16000.pcm") if asked == 16000 else b"\x00\x10" * asked
    rec = Recorder(httpx.Response(200, content=vendor))
    result = await make(rec, with_timestamps=False).synthesize("x", VoiceSettings(), wanted)
    assert rec.only.url.params["output_format"] == f"pcm_{asked}"
    assert result.sample_rate == wanted
    vendor_seconds = len(vendor) / 2 / asked
    assert result.duration == pytest.approx(vendor_seconds, abs=0.01)


async def test_normalized_alignment_is_the_fallback():
    payload = fixture_json("elevenlabs_with_timestamps.json")
    payload["alignment"] = None
    rec = Recorder(httpx.Response(200, json=payload))
    result = await make(rec).synthesize(TEXT, VoiceSettings(), 16000)
    assert "".join(p.phoneme for p in result.phonemes) == 'Hello,"Ada"and<Bob>!'


async def test_stream_forwards_chunks_as_they_arrive():
    pieces = [PCM16[i : i + 333] for i in range(0, len(PCM16), 333)]  # odd sizes split samples
    sent = []

    async def body():
        for piece in pieces:
            sent.append(piece)
            yield piece
            await asyncio.sleep(0)

    rec = Recorder(lambda request: httpx.Response(200, content=body()))
    tts = make(rec)
    stream = tts.stream("Hello", VoiceSettings(voice_id="v1"), 16000)
    first = await anext(stream)
    assert isinstance(first, AudioChunk) and first.offset == 0.0 and first.sample_rate == 16000
    assert len(sent) < len(pieces), "first chunk must arrive before the body is complete"
    chunks = [first] + [c async for c in stream]

    req = rec.only
    assert req.url.path == "/v1/text-to-speech/v1/stream"
    assert req.url.params["output_format"] == "pcm_16000"
    assert req.headers["xi-api-key"] == KEY
    assert all(len(c.pcm) % 2 == 0 for c in chunks)
    assert b"".join(c.pcm for c in chunks) == PCM16
    samples = 0
    for c in chunks:
        assert c.offset == pytest.approx(samples / 16000)
        samples += len(c.pcm) // 2


async def test_stream_resamples_to_requested_rate():
    rec = Recorder(httpx.Response(200, content=PCM16))  # 12000 Hz is not offered: pcm_16000, resampled
    chunks = [c async for c in make(rec).stream("Hello", VoiceSettings(), 12000)]
    assert rec.only.url.params["output_format"] == "pcm_16000"
    assert all(c.sample_rate == 12000 for c in chunks)
    total = sum(len(c.pcm) for c in chunks) // 2
    assert total == pytest.approx(0.75 * 12000, abs=64)


@pytest.mark.parametrize(
    ("status", "body", "expect"),
    [
        (401, fixture_json("elevenlabs_error_401.json"), "invalid_api_key"),
        (429, fixture_json("elevenlabs_error_429.json"), "too_many_concurrent_requests"),
        (422, fixture_json("elevenlabs_error_422.json"), "field required"),
        (500, {"detail": f"internal error for key {KEY}"}, "internal error"),
    ],
)
async def test_http_errors_become_provider_errors_without_the_key(status, body, expect):
    rec = Recorder(httpx.Response(status, json=body, headers={"Retry-After": "3"} if status == 429 else {}))
    with pytest.raises(ProviderError) as err:
        await make(rec).synthesize("Hello", VoiceSettings(), 16000)
    message = str(err.value)
    assert isinstance(err.value, VendorHTTPError) and err.value.status == status
    assert f"HTTP {status}" in message and expect in message
    assert KEY not in message and KEY not in repr(err.value.args)
    if status == 401:
        assert "ELEVENLABS_API_KEY" in message
    if status == 429:
        assert err.value.retry_after == 3.0
    assert rec.only


async def test_stream_http_error():
    rec = Recorder(httpx.Response(401, json=fixture_json("elevenlabs_error_401.json")))
    with pytest.raises(ProviderError, match="HTTP 401") as err:
        [c async for c in make(rec).stream("Hello", VoiceSettings(), 16000)]
    assert KEY not in str(err.value)


async def test_timeout_becomes_provider_error():
    rec = Recorder(raises_on(httpx.ReadTimeout, "The read operation timed out"))
    with pytest.raises(ProviderError, match=r"within 2 s") as err:
        await make(rec, timeout=2).synthesize("Hello", VoiceSettings(), 16000)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert KEY not in str(err.value)


async def test_timeout_is_applied_to_requests():
    seen = {}

    def reply(request):
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json=fixture_json("elevenlabs_with_timestamps.json"))

    rec = Recorder(reply)
    await make(rec, timeout=7.5).synthesize("Hello", VoiceSettings(), 16000)
    assert seen == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"<html>gateway</html>"),
        httpx.Response(200, json={"audio_base64": "***not base64***", "alignment": None}),
        httpx.Response(200, json={"alignment": {"characters": []}}),
        httpx.Response(200, json={"audio_base64": "", "alignment": {"characters": ["a"]}}),
    ],
)
async def test_bad_payloads_become_provider_errors(response):
    rec = Recorder(response)
    with pytest.raises(ProviderError):
        await make(rec).synthesize("Hello", VoiceSettings(), 16000)


async def test_stopping_a_stream_early_closes_the_response():
    class EndlessBody(httpx.AsyncByteStream):
        closed = False

        async def __aiter__(self):
            while True:
                yield PCM16[:3200]
                await asyncio.sleep(0)

        async def aclose(self) -> None:
            EndlessBody.closed = True

    rec = Recorder(lambda request: httpx.Response(200, stream=EndlessBody()))
    stream = make(rec).stream("Hello", VoiceSettings(), 16000)
    assert (await anext(stream)).offset == 0.0
    assert not EndlessBody.closed
    await stream.aclose()
    assert EndlessBody.closed
