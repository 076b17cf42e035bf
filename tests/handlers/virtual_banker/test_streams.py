"""Streams against the running server (uvicorn on loopback), read with a real HTTP client."""

from __future__ import annotations

import io
import json
import time

import av
import httpx
import pytest

from adapters.providers.wer import word_error_rate

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please transfer fifty dollars to my savings account.",
    "What is the balance of my checking account?",
    "I would like to report a lost credit card.",
]


@pytest.fixture
def live_session(live_server, vb_jwt):
    token = vb_jwt()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as http:
        r = http.post("/v1/sessions", json={"tenant_id": "tenant-123", "user_id": "user-456",
                                            "auth_assertion": token})
        session_id = r.json()["data"]["session_id"]
        assert http.post("/v1/voice/sessions", json={"session_id": session_id}).status_code == 201
        yield http, session_id


def parse_sse(lines):
    """Yield (event, data) pairs from an iterator of SSE lines."""
    event, data = None, []
    for line in lines:
        if line == "":
            if event is not None:
                yield event, json.loads("\n".join(data))
            event, data = None, []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def test_transcribe_stream_sse(live_session):
    http, session_id = live_session
    text = " ".join(SENTENCES)
    wav = http.post(f"/v1/voice/sessions/{session_id}/synthesize", json={"text": text, "sample_rate": 16000},
                    headers={"Accept": "audio/wav"}).content
    with http.stream("POST", f"/v1/voice/sessions/{session_id}/transcribe-stream",
                     files={"audio_stream": ("speech.wav", wav, "audio/wav")}, data={"language": "en-US"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = list(parse_sse(r.iter_lines()))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "final" and kinds.count("final") == 1 and "partial" in kinds
    assert all(data["type"] == kind for kind, data in events)
    final = events[-1][1]
    assert word_error_rate(text, final["text"]) <= 0.2
    assert final["words"] and 0 < final["confidence"] <= 1


def test_synthesize_stream_starts_before_synthesis_ends(live_session):
    http, session_id = live_session
    long_text = " ".join(SENTENCES * 12)
    started = time.perf_counter()
    with http.stream("POST", f"/v1/voice/sessions/{session_id}/synthesize-stream",
                     json={"text": long_text, "format": "mp3", "sample_rate": 22050}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
        chunks, first_at = [], None
        for chunk in r.iter_raw():
            if first_at is None:
                first_at = time.perf_counter() - started
            chunks.append(chunk)
        total = time.perf_counter() - started
    assert len(chunks) > 1 and first_at < total / 2
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
    assert stream.codec_context.sample_rate == 22050
    one_shot = http.post(f"/v1/voice/sessions/{session_id}/synthesize",
                         json={"text": long_text, "format": "pcm", "sample_rate": 22050}).json()["data"]["duration"]
    assert samples / 22050 == pytest.approx(one_shot, rel=0.05)


def test_wav_stream_is_pcm_with_header(live_session):
    http, session_id = live_session
    r = http.post(f"/v1/voice/sessions/{session_id}/synthesize-stream",
                  json={"text": SENTENCES[0], "format": "wav", "sample_rate": 16000})
    assert r.status_code == 200 and r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE"
    assert int.from_bytes(r.content[24:28], "little") == 16000
    assert (len(r.content) - 44) % 2 == 0 and len(r.content) > 44 + 16000  # over half a second of audio


def test_state_is_speaking_while_streaming(live_session, live_server):
    http, session_id = live_session
    text = " ".join(SENTENCES * 25)  # minutes of 44.1 kHz WAV: more than socket buffers hold
    with httpx.Client(base_url=live_server.url, headers=http.headers, timeout=60) as other:
        with http.stream("POST", f"/v1/voice/sessions/{session_id}/synthesize-stream",
                         json={"text": text, "format": "wav", "sample_rate": 44100}) as r:
            raw = r.iter_raw()
            next(raw)
            status = other.get(f"/v1/voice/sessions/{session_id}/status").json()["data"]
            assert status["state"] == "speaking" and status["tts_status"] == "active"
            for _ in raw:
                pass
        deadline = time.monotonic() + 5
        while other.get(f"/v1/voice/sessions/{session_id}/status").json()["data"]["state"] != "idle":
            assert time.monotonic() < deadline
            time.sleep(0.05)
