"""Virtual Banker voice operations over HTTP with the real offline engines."""

from __future__ import annotations

import base64
import io
import wave

import av
import pytest

from adapters.providers.wer import word_error_rate

SENTENCE = "Hello, how can I help you today?"


def synth(client, session_id, headers, **body):
    r = client.post(f"/v1/voice/sessions/{session_id}/synthesize", json={"text": SENTENCE, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_create_voice_session_rules(client, vb_session, vb_jwt, vb_auth):
    session_id, headers = vb_session
    r = client.post("/v1/voice/sessions", json={"session_id": session_id, "provider": {"asr": "deepgram"}},
                    headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert "DEEPGRAM_API_KEY" in r.json()["error"]["message"]
    r = client.post("/v1/voice/sessions", json={"session_id": session_id, "provider": {"tts": "elevenlabs"}},
                    headers=headers)
    assert r.status_code == 400 and "ELEVENLABS_API_KEY" in r.json()["error"]["message"]
    # another tenant's session is simply not found
    r = client.post("/v1/voice/sessions", json={"session_id": session_id}, headers=vb_auth("tenant-x", "user-456"))
    assert r.status_code == 404
    r = client.post("/v1/voice/sessions", json={"session_id": "sess-missing"}, headers=headers)
    assert r.status_code == 404
    # voice operations need a voice session
    r = client.get("/v1/voice/sessions/sess-missing/status", headers=headers)
    assert r.status_code == 404


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_synthesize_wav_exact_rate_and_duration(client, vb_session, rate):
    data = synth(client, *vb_session, format="wav", sample_rate=rate)
    with wave.open(io.BytesIO(base64.b64decode(data["audio_data"]))) as w:
        assert w.getframerate() == rate and w.getnchannels() == 1 and w.getsampwidth() == 2
        assert w.getnframes() / rate == pytest.approx(data["duration"], abs=1e-6)
    assert data["sample_rate"] == rate and 1.0 < data["duration"] < 5.0


def test_synthesize_pcm_and_mp3(client, vb_session):
    pcm = synth(client, *vb_session, format="pcm", sample_rate=16000)
    assert len(base64.b64decode(pcm["audio_data"])) == pytest.approx(pcm["duration"] * 16000 * 2, abs=2)
    mp3 = synth(client, *vb_session, format="mp3", sample_rate=44100)
    with av.open(io.BytesIO(base64.b64decode(mp3["audio_data"]))) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith("mp3") and stream.codec_context.sample_rate == 44100
        samples = sum(frame.samples for frame in container.decode(stream))
    # decoded MP3 = PCM + encoder delay/padding (< 3 frames of 1152 samples)
    assert 0 <= samples - mp3["duration"] * 44100 < 3 * 1152


def test_visemes_cover_audio(client, vb_session):
    data = synth(client, *vb_session, format="wav", sample_rate=22050)
    visemes = data["visemes"]
    allowed = {"sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou"}
    assert {v["viseme"] for v in visemes} <= allowed and len(visemes) > 10
    assert visemes[0]["start_time"] == 0
    assert visemes[-1]["end_time"] == pytest.approx(data["duration"], abs=1e-3)
    for a, b in zip(visemes, visemes[1:], strict=False):
        assert a["end_time"] == pytest.approx(b["start_time"], abs=1e-3) and a["start_time"] < a["end_time"]
    assert all(v["phoneme"] for v in visemes)
    r = client.post(f"/v1/voice/sessions/{vb_session[0]}/visemes", json={"text": SENTENCE}, headers=vb_session[1])
    body = r.json()["data"]
    assert r.status_code == 200 and body["text"] == SENTENCE
    assert body["visemes"][-1]["end_time"] == pytest.approx(body["duration"], abs=1e-3)


def test_raw_audio_by_accept_header(client, vb_session):
    session_id, headers = vb_session
    r = client.post(f"/v1/voice/sessions/{session_id}/synthesize", json={"text": SENTENCE, "sample_rate": 16000},
                    headers={**headers, "Accept": "audio/wav"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getframerate() == 16000
    assert r.headers["X-RateLimit-Limit"]
    r = client.post(f"/v1/voice/sessions/{session_id}/synthesize", json={"text": SENTENCE},
                    headers={**headers, "Accept": "audio/mpeg"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    assert r.content[:3] == b"ID3" or r.content[0] == 0xFF and r.content[1] & 0xE0 == 0xE0  # MPEG frame sync


def _opus(pcm: bytes, container_format: str) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            __import__("numpy").frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        for f in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_transcribe_all_formats(client, vb_session):
    session_id, headers = vb_session
    wav = base64.b64decode(synth(client, session_id, headers, format="wav", sample_rate=16000)["audio_data"])
    mp3 = base64.b64decode(synth(client, session_id, headers, format="mp3", sample_rate=22050)["audio_data"])
    pcm = base64.b64decode(synth(client, session_id, headers, format="pcm", sample_rate=16000)["audio_data"])
    uploads = {"wav": wav, "mp3": mp3, "ogg": _opus(pcm, "ogg"), "webm": _opus(pcm, "webm")}
    for fmt, data in uploads.items():
        r = client.post(f"/v1/voice/sessions/{session_id}/transcribe", headers=headers,
                        files={"audio": (f"a.{fmt}", data, "application/octet-stream")},
                        data={"format": fmt, "include_words": "true", "language": "en-US"})
        assert r.status_code == 200, (fmt, r.text)
        event = r.json()["data"]
        assert event["type"] == "final" and word_error_rate(SENTENCE, event["text"]) <= 0.2, (fmt, event["text"])
        assert event["words"] and all(w["start_time"] <= w["end_time"] for w in event["words"])
    r = client.post(f"/v1/voice/sessions/{session_id}/transcribe", headers=headers,
                    json={"audio_data": base64.b64encode(wav).decode()})
    assert r.status_code == 200 and "words" not in r.json()["data"]


@pytest.mark.parametrize("payload",
                         [b"not audio at all" * 20, b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\xff\xd8\xff\xe0JFIF"])
def test_corrupt_audio_is_400(client, vb_session, payload):
    session_id, headers = vb_session
    r = client.post(f"/v1/voice/sessions/{session_id}/transcribe", headers=headers,
                    files={"audio": ("x.wav", payload, "audio/wav")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_AUDIO"
    r = client.post(f"/v1/voice/sessions/{session_id}/transcribe", headers=headers, json={"audio_data": "%%%"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_AUDIO"
    r = client.post(f"/v1/voice/sessions/{session_id}/transcribe", headers=headers,
                    json={"audio_data": base64.b64encode(payload).decode()})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_AUDIO"


def test_status_and_providers(client, vb_session):
    session_id, headers = vb_session
    status = client.get(f"/v1/voice/sessions/{session_id}/status", headers=headers).json()["data"]
    assert status == {"session_id": session_id, "state": "idle", "asr_status": "inactive", "tts_status": "inactive",
                      "provider": {"asr": "mock", "tts": "mock"}}
    providers = client.get("/v1/voice/providers", headers=headers).json()["data"]["providers"]
    mock = {p["type"]: p for p in providers if p["id"] == "mock"}
    assert mock["tts"]["available"] and mock["asr"]["available"]
    assert "streaming" in mock["asr"]["features"] and "word_timestamps" in mock["asr"]["features"]
    assert {p["id"] for p in providers if not p["configured"]} == {"elevenlabs", "azure", "deepgram", "google"}


def test_ended_session_loses_voice(client, vb_session):
    session_id, headers = vb_session
    assert client.delete(f"/v1/sessions/{session_id}", headers=headers).status_code == 200
    r = client.post(f"/v1/voice/sessions/{session_id}/synthesize", json={"text": "hi"}, headers=headers)
    assert r.status_code == 404


def test_blank_text_is_zero_seconds(client, vb_session):
    data = synth(client, *vb_session, text="   ", format="wav", sample_rate=16000)
    assert data["duration"] == 0 and data["visemes"] == []
