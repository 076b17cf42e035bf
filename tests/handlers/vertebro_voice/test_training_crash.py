"""A training job survives the server being killed (SIGKILL) mid-run: a new server process on the
same database and file store resumes it from its persisted checkpoint and completes it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from adapters.providers import audio as codec
from adapters.providers.base import VoiceSettings
from adapters.providers.registry import ProviderRegistry
from tests.handlers.vertebro_voice.conftest import API, AUTH, PASSWORD_HASH, USER

ROOT = Path(__file__).resolve().parents[3]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env={**os.environ, **env, "PORT": str(port)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{API}/status", auth=AUTH, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("server did not start")


def _status(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}{API}/status", params={"project": "crash"}, auth=AUTH).json()["job"]


def _wait(port: int, predicate, timeout: float = 60.0) -> tuple[dict, list[dict]]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(_status(port))
        if predicate(seen[-1]):
            return seen[-1], seen
        time.sleep(0.05)
    raise AssertionError(f"timed out; last {seen[-1]}")


def test_training_job_survives_sigkill(tmp_path):
    tts = ProviderRegistry().tts("mock")
    wavs = [codec.encode_wav(anyio.run(tts.synthesize, text, VoiceSettings(language="en-US"), 16000).pcm, 16000)
            for text in ("One two three four five", "The weather is nice today", "Training a voice profile")]
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}",
           "VERTEBRO_BASIC_USERS": json.dumps({USER: PASSWORD_HASH}),
           "VERTEBRO_ADMIN_USERS": json.dumps([USER]),
           "VOICE_FILE_STORAGE_DIR": str(tmp_path / "files"), "VOICE_TRAINING_STEP_DELAY": "0.4",
           "VOICE_TRAINING_EPOCHS": "8", "LOG_LEVEL": "warning", "HF_HUB_OFFLINE": "1",
           "VOICE_TRAINING_STALE_SECONDS": "4"}  # the killed runner's claim expires after 4 s
    port = _port()
    server = _start(env, port)
    try:
        files = [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs)]
        r = httpx.post(f"http://127.0.0.1:{port}{API}/samples", data={"project": "crash"}, files=files, auth=AUTH)
        assert r.status_code == 200 and len(r.json()["samples"]) == 3
        job = httpx.post(f"http://127.0.0.1:{port}{API}/train", data={"project": "crash"}, auth=AUTH).json()["job"]
        mid, _ = _wait(port, lambda j: j["status"] == "training" and j["progress"] >= 45)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    server = _start(env, port)
    try:
        resumed = _status(port)
        assert resumed["id"] == job["id"] and resumed["status"] in ("training", "validating", "completed")
        assert resumed["progress"] >= mid["progress"]
        done, seen = _wait(port, lambda j: j["status"] in ("completed", "failed"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert done["status"] == "completed" and done["progress"] == 100.0
    assert done["id"] == job["id"] and done["started_at"] == mid["started_at"]
    progress = [mid["progress"]] + [j["progress"] for j in seen]
    assert progress == sorted(progress)
