"""Issue 15 item 1: a server started on an existing database answers ``GET /health`` before its
heavy engines are loaded. The engines load in the background (``ENGINE_PRELOAD``, the default),
``/health`` reports each ``loading`` or ``ready`` (never waiting for them) in a body that
validates against the contract, and a request that needs an engine still loading waits for it
and succeeds. Nothing here is timed: the waits are bounded only so that a hung server fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.storage.database import Database
from gateway.contract import Contract
from gateway.schemas import SchemaSet
from handlers.virtual_banker.security import mint_jwt
from tests.conftest import JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("asr", "tts", "webrtc", "embeddings")
LIVENESS_SECONDS = 120.0  # how long a hung server may take before the test gives up (not a goal)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path):
    """``python -m gateway`` on a database an earlier start already migrated; its base URL."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    existing = Database(url)
    existing.migrate()
    existing.dispose()
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": url, "LOG_LEVEL": "warning",
           "VIRTUAL_BANKER_JWT_SECRET": JWT_SECRET, "SECRETS_DIR": str(tmp_path / "secrets"),
           "ENGINE_PRELOAD": "true", "VALIDATE_RESPONSES": "true"}
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process, tmp_path / "server.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _first_health(base: str, process: subprocess.Popen, log: Path) -> httpx.Response:
    deadline = time.monotonic() + LIVENESS_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            return httpx.get(f"{base}/health", timeout=5)
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"no answer from /health:\n{log.read_text(errors='replace')}")


def test_health_answers_while_engines_load_and_requests_wait_for_them(server):
    base, process, log = server
    first = _first_health(base, process, log)
    assert first.status_code == 200, first.text
    body = first.json()
    validator = SchemaSet(Contract().document).validator({"$ref": "#/components/schemas/vb.HealthResponse"})
    assert validator.findings(body) == []
    assert body["status"] == "healthy"  # engines still loading do not degrade the server
    assert {name: body["services"][name]["status"] in ("loading", "ready") for name in ENGINES} == dict.fromkeys(
        ENGINES, True), body
    assert body["services"]["asr"]["provider"] == "mock" and body["services"]["webrtc"]["provider"] == "aiortc"

    # Speech at once, while the engines may still be loading: synthesis (espeak-ng), then
    # recognition (Whisper) of what was synthesised; each waits for its engine, then answers.
    token = mint_jwt("tenant-123", "user-456", JWT_SECRET, 3600)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=LIVENESS_SECONDS) as http:
        r = http.post("/v1/sessions", json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token})
        assert r.status_code == 201, r.text
        session = r.json()["data"]["session_id"]
        assert http.post("/v1/voice/sessions", json={"session_id": session}).status_code == 201
        r = http.post(f"/v1/voice/sessions/{session}/synthesize",
                      json={"text": "Good morning, how can I help?", "format": "wav", "sample_rate": 16000})
        assert r.status_code == 200, r.text
        r = http.post(f"/v1/voice/sessions/{session}/transcribe", json={"audio_data": r.json()["data"]["audio_data"]})
        assert r.status_code == 200, r.text
        assert "morning" in r.json()["data"]["text"].lower()

        deadline = time.monotonic() + LIVENESS_SECONDS
        while True:  # the warm-up finishes: every engine ready, the body still the contract's
            r = http.get("/v1/health")
            assert r.status_code == 200 and validator.findings(r.json()) == []
            states = {name: r.json()["services"][name]["status"] for name in ENGINES}
            assert set(states.values()) <= {"loading", "ready"}, states
            if set(states.values()) == {"ready"}:
                break
            assert time.monotonic() < deadline, (states, log.read_text(errors="replace"))
            time.sleep(0.2)
    assert "Traceback" not in log.read_text(errors="replace")

