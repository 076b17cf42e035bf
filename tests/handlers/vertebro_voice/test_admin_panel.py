"""Issue 14 item 7: the admin panel's sequence over a live server, reading the fields that panel reads —
list samples, upload browser recordings (``audio/webm;codecs=opus``, and a Blob without a content type),
list jobs with ``limit=5``, delete with ``?project=``, train."""

from __future__ import annotations

import io
import wave

import httpx

from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, AUTH, encode_container, speech_wav


def _recording(app, text: str, container: str = "webm") -> bytes:
    with wave.open(io.BytesIO(speech_wav(app, text))) as w:
        pcm = w.readframes(w.getnframes())
    return encode_container(pcm, 16000, container)


def test_admin_panel_sequence(app):
    recordings = [_recording(app, t) for t in ("The first training sentence.", "A second sample of my voice.",
                                               "And a third recording for the model.")]
    blob = _recording(app, "A blob without a type.", "ogg")
    with LiveServer(app) as server, httpx.Client(base_url=server.url, auth=AUTH, timeout=60) as http:
        q = {"project": "panel"}
        assert http.get(f"{API}/samples", params=q).json() == {"samples": []}
        files = [("files", (f"recording-{i}.webm", data, "audio/webm;codecs=opus")) for i, data in
                 enumerate(recordings)]
        files.append(("files", ("blob", blob, "")))  # a Blob appended without a type
        r = http.post(f"{API}/samples", data=q, files=files)
        assert r.status_code == 200, r.text
        samples = r.json()["samples"]
        assert [s["contentType"] for s in samples] == ["audio/webm; codecs=opus"] * 3 + ["audio/ogg"]
        for sample, data in zip(samples, recordings + [blob], strict=True):
            assert sample["sizeBytes"] == sample["size_bytes"] == len(data)
            assert 1.0 < sample["durationSeconds"] < 4.0 and sample["uploadedAt"] > 0 and sample["id"]
        assert http.get(f"{API}/samples", params=q).json()["samples"] == samples
        assert http.get(f"{API}/jobs", params={**q, "limit": 5}).json() == {"jobs": []}
        r = http.delete(f"{API}/samples/{samples[-1]['id']}", params=q)
        assert r.status_code == 200 and [s["id"] for s in r.json()["samples"]] == [s["id"] for s in samples[:3]]
        r = http.post(f"{API}/train", data=q)
        assert r.status_code == 200, r.text
        job = r.json()["job"]
        assert job["status"] == "queued" and job["progress"] == 0.0 and job["createdAt"] == job["created_at"]
        jobs = http.get(f"{API}/jobs", params={**q, "limit": 5}).json()["jobs"]
        assert [j["id"] for j in jobs] == [job["id"]]
        assert {"status", "progress", "message", "createdAt", "startedAt", "finishedAt"} <= set(jobs[0])
        text = http.post(f"{API}/samples", data=q, files=[("files", ("notes", b"plain text", "text/plain"))])
        assert text.status_code == 415 and text.json() == {"detail": "unsupported_content_type"}
        junk = http.post(f"{API}/samples", data=q, files=[("files", ("blob", b"\x00junk" * 100, ""))])
        assert junk.status_code == 415 and junk.json() == {"detail": "unsupported_audio_format"}
        assert len(http.get(f"{API}/samples", params=q).json()["samples"]) == 3
