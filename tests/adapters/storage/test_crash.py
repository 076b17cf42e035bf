"""Acknowledged writes survive a crash: the server is killed with SIGKILL right after a 201."""

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

from handlers.virtual_banker.security import mint_jwt

ROOT = Path(__file__).resolve().parents[3]
SECRET = "crash-test-secret-0123456789-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(database_url: str, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "VIRTUAL_BANKER_JWT_SECRET": SECRET,
           "LOG_LEVEL": "warning", **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("server did not start")


def test_session_survives_sigkill(database_url):
    port = _port()
    token = mint_jwt("tenant-123", "user-456", SECRET, 600)
    headers = {"Authorization": f"Bearer {token}"}
    server = _start(database_url, port)
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/sessions", headers=headers,
                       json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token})
        assert r.status_code == 201
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    session_id = r.json()["data"]["session_id"]
    ephemeral = r.json()["data"]["ephemeral_token"]
    server = _start(database_url, port)
    try:
        got = httpx.get(f"http://127.0.0.1:{port}/v1/sessions/{session_id}",
                        headers={"Authorization": f"Bearer {ephemeral}"})
        assert got.status_code == 200 and got.json()["data"]["session_id"] == session_id
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
