"""Vertebro voice training over HTTP: samples (multipart), jobs, the background worker, and a
job that survives a server restart mid-run."""

from __future__ import annotations

import time

import anyio
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.handlers.vertebro_voice.conftest import API, AUTH, speech_wav

PHRASES = ("The quick brown fox jumps over the lazy dog", "Voice training needs a few samples",
           "Every sample is decoded and measured", "Привет, это образец голоса")


@pytest.fixture
def wavs(app):
    return [speech_wav(app, text, "ru-RU" if i == 3 else "en-US") for i, text in enumerate(PHRASES)]


def _upload(client, project, files, **extra):
    return client.post(f"{API}/samples", data={"project": project, **extra}, files=files, auth=AUTH)


def _wait_for(client, project, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = client.get(f"{API}/status", params={"project": project}, auth=AUTH).json()["job"]
        seen.append(job)
        if predicate(job):
            return job, seen
        time.sleep(0.05)
    raise AssertionError(f"timed out; last status {seen[-1]}")


def test_samples_upload_list_delete(client, wavs):
    r = _upload(client, "demo", [("files", ("a.wav", wavs[0], "audio/wav")),
                                 ("files", ("b.wav", wavs[1], "audio/x-wav"))])
    assert r.status_code == 200, r.text
    samples = r.json()["samples"]
    assert [s["filename"] for s in samples] == ["a.wav", "b.wav"]
    for sample, data in zip(samples, wavs[:2], strict=True):
        assert sample["project"] == "demo" and sample["size_bytes"] == len(data)
        assert abs(sample["duration_seconds"] - (len(data) - 44) / 2 / 16000) < 0.01  # measured by decoding
        assert isinstance(sample["uploaded_at"], float) and sample["file_id"].startswith("samples/")
    # a generic content type is fine when the file name says what it is
    r = _upload(client, "demo", [("files", ("c.wav", wavs[2], "application/octet-stream"))])
    assert [s["content_type"] for s in r.json()["samples"]] == ["audio/wav", "audio/x-wav", "audio/wav"]
    assert client.get(f"{API}/samples", params={"project": "demo"}, auth=AUTH).json() == r.json()
    assert client.get(f"{API}/samples", auth=AUTH).json() == {"samples": []}  # project "default"
    first = samples[0]["id"]
    r = client.delete(f"{API}/samples/{first}", params={"project": "demo"}, auth=AUTH)
    assert r.status_code == 200 and [s["filename"] for s in r.json()["samples"]] == ["b.wav", "c.wav"]
    r = client.delete(f"{API}/samples/{first}", params={"project": "demo"}, auth=AUTH)
    assert r.status_code == 404 and r.json() == {"detail": "sample_not_found"}
    other = r = client.delete(f"{API}/samples/{samples[1]['id']}", params={"project": "elsewhere"}, auth=AUTH)
    assert other.status_code == 404


@pytest.fixture
def vertebro_overrides(vertebro_overrides):
    return {**vertebro_overrides, "voice_sample_max_bytes": 200_000}


def test_sample_upload_errors_store_nothing(client, wavs):
    big = b"RIFF" + b"\0" * 200_001
    cases = [
        ([("files", ("a.txt", b"hello", "text/plain"))], 415, "unsupported_content_type"),
        ([("files", ("a.wav", b"", "audio/wav"))], 400, "empty_sample"),
        ([("files", ("a.wav", wavs[0], "audio/wav")), ("files", ("big.wav", big, "audio/wav"))], 413,
         "sample_too_large"),
        ([("files", ("a.wav", wavs[0], "audio/wav")), ("files", ("noise.mp3", b"not audio" * 50, "audio/mpeg"))],
         415, "unsupported_audio_format"),
    ]
    for files, status, detail in cases:
        r = _upload(client, "demo", files)
        assert (r.status_code, r.json()) == (status, {"detail": detail}), detail
    only_project = b'--b0\r\nContent-Disposition: form-data; name="project"\r\n\r\ndemo\r\n--b0--\r\n'
    r = client.post(f"{API}/samples", content=only_project, auth=AUTH,
                    headers={"Content-Type": "multipart/form-data; boundary=b0"})
    assert r.status_code == 422  # `files` is required by the schema
    assert _upload(client, "", [("files", ("a.wav", wavs[0], "audio/wav"))]).status_code == 422
    assert client.get(f"{API}/samples", params={"project": ""}, auth=AUTH).status_code == 422
    assert client.get(f"{API}/samples", params={"project": "demo"}, auth=AUTH).json() == {"samples": []}


def test_training_runs_to_completion(client, wavs):
    assert client.get(f"{API}/status", params={"project": "demo"}, auth=AUTH).json() == {"job": None}
    _upload(client, "demo", [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs[:2])])
    r = client.post(f"{API}/train", data={"project": "demo"}, auth=AUTH)
    assert r.status_code == 400 and r.json() == {"detail": "not_enough_samples:2/3"}
    _upload(client, "demo", [("files", ("2.wav", wavs[2], "audio/wav"))])
    r = client.post(f"{API}/train", data={"project": "demo"}, auth=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["detail"] == "job_queued"
    job = body["job"]
    assert (job["status"], job["progress"], job["message"]) == ("queued", 0.0, "Job queued")
    assert isinstance(job["created_at"], float) and job["started_at"] is None
    r = client.post(f"{API}/train", data={"project": "demo"}, auth=AUTH)
    assert r.status_code == 409 and r.json() == {"detail": "job_in_progress"}
    done, seen = _wait_for(client, "demo", lambda j: j["status"] in ("completed", "failed"))
    assert done["status"] == "completed" and done["progress"] == 100.0 and done["message"] == "Training completed"
    assert done["started_at"] >= done["created_at"] and done["finished_at"] >= done["started_at"]
    states = [j["status"] for j in seen]
    assert "training" in states
    progress = [j["progress"] for j in seen]
    assert progress == sorted(progress)  # never goes backwards
    jobs = client.get(f"{API}/jobs", params={"project": "demo"}, auth=AUTH).json()["jobs"]
    assert [j["id"] for j in jobs] == [job["id"]]
    second = client.post(f"{API}/train", data={"project": "demo"}, auth=AUTH).json()["job"]  # a new job is allowed
    jobs = client.get(f"{API}/jobs", params={"project": "demo", "limit": 1}, auth=AUTH).json()["jobs"]
    assert [j["id"] for j in jobs] == [second["id"]]  # newest first
    for bad in (0, 26):
        assert client.get(f"{API}/jobs", params={"limit": bad}, auth=AUTH).status_code == 422


def test_training_with_a_deleted_sample_fails(client, app, wavs):

    samples = _upload(client, "gone", [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs[:3])])
    bundle = app.bundles["vertebro-voice"]
    anyio.run(bundle.worker.stop)  # keep the job queued while its sample disappears
    client.post(f"{API}/train", data={"project": "gone"}, auth=AUTH)
    client.delete(f"{API}/samples/{samples.json()['samples'][0]['id']}", params={"project": "gone"}, auth=AUTH)
    job = anyio.run(bundle.jobs.list, "gone", 1)[0]
    anyio.run(bundle.worker.execute, job.id)
    status = client.get(f"{API}/status", params={"project": "gone"}, auth=AUTH).json()["job"]
    assert status["status"] == "failed" and status["message"] == "Training failed: not enough samples: 2/3"


def test_stale_job_is_resumed(client, app, clock, wavs):

    _upload(client, "stale", [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs[:3])])
    anyio.run(app.bundles["vertebro-voice"].worker.stop)  # nobody runs the queue: the job makes no progress
    job = client.post(f"{API}/train", data={"project": "stale"}, auth=AUTH).json()["job"]
    clock.advance(seconds=10)
    assert client.post(f"{API}/train", data={"project": "stale"}, auth=AUTH).status_code == 409
    clock.advance(seconds=11)
    r = client.post(f"{API}/train", data={"project": "stale"}, auth=AUTH)
    assert r.status_code == 200 and r.json()["detail"] == "job_resumed" and r.json()["job"]["id"] == job["id"]


def test_training_job_survives_a_restart_mid_run(make_settings, vertebro_overrides, tmp_path):
    """Stop the server while the job is training; a new server on the same database and file
    store resumes it from its checkpoint (same job, epochs not repeated) to completion."""
    settings = make_settings(**{**vertebro_overrides, "voice_training_step_delay": 0.4, "voice_training_epochs": 8})
    first = create_app(settings)
    with TestClient(first, raise_server_exceptions=False) as client:
        wavs = [speech_wav(first, text) for text in PHRASES[:3]]
        _upload(client, "restart", [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs)])
        job = client.post(f"{API}/train", data={"project": "restart"}, auth=AUTH).json()["job"]
        mid, _ = _wait_for(client, "restart", lambda j: j["status"] == "training" and j["progress"] >= 45)
    # the server is gone; the job is left mid-run in storage

    interrupted = anyio.run(first.bundles["vertebro-voice"].jobs.get, job["id"])
    assert interrupted.status == "training" and 45 <= interrupted.progress < 90
    epoch_at_stop = interrupted.checkpoint["epoch"]
    assert 0 < epoch_at_stop < 8
    second = create_app(settings)
    with TestClient(second, raise_server_exceptions=False) as client:
        now = client.get(f"{API}/status", params={"project": "restart"}, auth=AUTH).json()["job"]
        assert now["id"] == job["id"] and now["progress"] >= mid["progress"]
        done, seen = _wait_for(client, "restart", lambda j: j["status"] in ("completed", "failed"))
    assert done["status"] == "completed" and done["started_at"] == mid["started_at"]
    assert [j["progress"] for j in seen] == sorted(j["progress"] for j in seen)
    final = anyio.run(second.bundles["vertebro-voice"].jobs.get, job["id"])
    assert final.attempts == 2
    assert len(final.result["inertia"]) == 8  # every epoch ran exactly once across the two servers
    assert final.result["inertia"] == sorted(final.result["inertia"], reverse=True)  # k-means never gets worse


def test_malformed_multipart_is_a_client_error(client):
    r = client.post(f"{API}/samples", content=b"--x\r\n", auth=AUTH, headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)
    r = client.post(f"{API}/train", content=b"garbage", auth=AUTH, headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 422


def test_parts_typed_as_the_contract_says_are_sniffed(client, wavs):
    """The contract's encoding types `files` parts `audio/*`, which clients generated from it send
    literally (schemathesis did): the bytes decide the type; bytes that are no audio stay a 415."""
    r = _upload(client, "sniff", [("files", ("files", wavs[0], "audio/*")),
                                  ("files", ("blob", wavs[1], "application/octet-stream"))])
    assert r.status_code == 200, r.text
    assert [s["content_type"] for s in r.json()["samples"]] == ["audio/wav", "audio/wav"]
    r = _upload(client, "sniff", [("files", ("files", b"GIF87a" + b"\0" * 64, "audio/*"))])
    assert (r.status_code, r.json()) == (415, {"detail": "unsupported_audio_format"})  # the bytes decide
    assert len(client.get(f"{API}/samples", params={"project": "sniff"}, auth=AUTH).json()["samples"]) == 2
