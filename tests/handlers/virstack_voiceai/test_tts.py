"""Virstack TTS utilities: real WAV from the offline engine, strict mode, cloud adapters' requests."""

from __future__ import annotations

import base64
import io
import json
import wave

import httpx
import pytest

from adapters.providers.cloud.prompted_tts import GeminiTTS, XaiTTS

AUDIO = {"agent_name": "Support Agent", "system_prompt": "You are a helpful customer support agent.",
         "voice_id": "Aoede", "transcript": "Let me check that for you right away!"}
FULL = {"audio_profile": "Support Agent", "the_scene": "A busy help desk.",
        "directors_note": "The character is thinking out loud.", "pacing": "Fast, energetic",
        "transcript": "Let me check that for you right away!", "voice_id": "Aoede"}


def wav(content: bytes) -> tuple[int, int]:
    with wave.open(io.BytesIO(content)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getframerate(), w.getnframes()


def test_offline_audio_is_real_wav_and_names_its_engine(org):
    r = org.post("/v1/tts/generate-audio", json=AUDIO)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert r.headers["x-tts-engine"] == "espeak-ng"
    rate, frames = wav(r.content)
    assert rate == 24000 and frames / rate > 1.0  # a sentence takes more than a second
    fast = org.post("/v1/tts/generate-audio-full-prompt", json=FULL)
    slow = org.post("/v1/tts/generate-audio-full-prompt", json={**FULL, "pacing": "Slow and calm"})
    assert fast.status_code == slow.status_code == 200
    assert wav(fast.content)[1] < wav(slow.content)[1]  # pacing changes the speaking rate
    empty = org.post("/v1/tts/generate-audio", json={**AUDIO, "transcript": " "})
    assert empty.status_code == 200 and wav(empty.content) == (24000, 0)


def test_strict_mode_names_the_missing_setting(make_settings):
    from starlette.testclient import TestClient

    from gateway.app import create_app
    from tests.handlers.virstack_voiceai.conftest import register

    app = create_app(make_settings(virstack_tts_strict=True))
    with TestClient(app) as client:
        org = register(client)
        r = org.post("/v1/tts/generate-audio", json={**AUDIO, "provider": "grok"})
        assert r.status_code == 503 and "XAI_API_KEY" in r.json()["error"]
        r = org.post("/v1/tts/generate-audio-full-prompt", json=FULL)
        assert r.status_code == 503 and "GEMINI_API_KEY" in r.json()["error"]
        r = org.post("/v1/tts/generate-transcript", json={"prompt": "Acknowledge", "language_code": "en",
                                                          "agent_persona": "p", "tool_name": "transfer_call"})
        assert r.status_code == 503 and "GEMINI_API_KEY" in r.json()["error"]


def test_filler_transcript_offline_template(org):
    r = org.post("/v1/tts/generate-transcript", json={"prompt": "Acknowledge enthusiastically", "language_code": "en",
                                                      "agent_persona": "You are helpful.",
                                                      "tool_name": "transfer_call"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["engine"] == "offline-template" and "transferring" in data["transcript"]
    spanish = org.post("/v1/tts/generate-transcript", json={"prompt": "Say you are checking", "language_code": "es",
                                                            "agent_persona": "p", "tool_name": "lookup",
                                                            "provider": "grok"}).json()["data"]
    assert spanish["transcript"].startswith("Permítame") and spanish["provider"] == "grok"


async def test_gemini_adapter_request_and_response():
    pcm = (b"\x01\x00\xff\x7f" * 1200)
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["key"], seen["body"] = str(request.url), request.headers["x-goog-api-key"], \
            json.loads(request.content)
        return httpx.Response(200, json={"candidates": [{"content": {"parts": [
            {"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": base64.b64encode(pcm).decode()}}]}}]})

    tts = GeminiTTS("gem-key", transport=httpx.MockTransport(handler))
    out, rate = await tts.speak("# AUDIO PROFILE: x\n#### TRANSCRIPT\nHello", "Kore")
    await tts.aclose()
    assert (out, rate) == (pcm, 24000)
    assert "gemini-2.5-flash-preview-tts:generateContent" in seen["url"] and seen["key"] == "gem-key"
    config = seen["body"]["generationConfig"]
    assert config["responseModalities"] == ["AUDIO"]
    assert config["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Kore"
    assert seen["body"]["contents"][0]["parts"][0]["text"].endswith("Hello")


async def test_xai_adapter_decodes_the_audio_it_gets():
    from adapters.providers import audio

    sent = audio.encode_wav(b"\x00\x10" * 8000, 16000)

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.headers["authorization"] == "Bearer xai-key"
        assert body == {"text": "Hi", "voice_id": "ara", "language": "en"}
        return httpx.Response(200, content=sent, headers={"content-type": "audio/wav"})

    tts = XaiTTS("xai-key", transport=httpx.MockTransport(handler))
    pcm, rate = await tts.speak("Hi", "Ara", "en")
    await tts.aclose()
    assert rate == 24000 and abs(len(pcm) / 2 / rate - 0.5) < 0.01


async def test_cloud_failures_are_provider_errors():
    from adapters.providers.base import ProviderError, ProviderNotConfigured

    with pytest.raises(ProviderNotConfigured):
        GeminiTTS(None)
    tts = GeminiTTS("k", transport=httpx.MockTransport(lambda r: httpx.Response(403, json={"error": {
        "message": "bad key"}})))
    with pytest.raises(ProviderError) as exc:
        await tts.speak("x", "Kore")
    assert "403" in str(exc.value) and str(exc.value) != "k"
