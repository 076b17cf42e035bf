"""Several server processes sharing one PostgreSQL and one Redis, all started by the project's
own scripts on loopback (scripts/pg-test-server, scripts/redis-test-server; the session fixtures
``postgres_admin`` and ``redis_server`` of tests/conftest.py), for the cross-process invariants
of a scaled-out deployment (docs/deploy.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from handlers.vertebro_voice.security import hash_password
from tests.conftest import ROOT, free_port, fresh_database

# One set of secrets for every process of a deployment (hosts do not share var/secrets).
SECRETS = {
    "VIRTUAL_BANKER_JWT_SECRET": "scaleout-vb-secret-0123456789-0123456789",
    "VIRSTACK_JWT_SECRET": "scaleout-virstack-secret-0123456789-0123456789",
    "WEBHOOK_SECRET_KEY": "scaleout-webhook-key-0123456789-0123456789",
    "LIVEKIT_API_KEY": "APIscaleout01",
    "LIVEKIT_API_SECRET": "scaleout-livekit-secret-0123456789-0123456789",
}


#: One Vertebro admin user (HTTP Basic) for every process.
VERTEBRO_USER, VERTEBRO_PASSWORD = "scale-admin", "scale password 0123"
VERTEBRO_ENV = {"VERTEBRO_BASIC_USERS": json.dumps({VERTEBRO_USER: hash_password(VERTEBRO_PASSWORD)}),
                "VERTEBRO_ADMIN_USERS": json.dumps([VERTEBRO_USER])}


class ServerProcess:
    """``python -m gateway`` in its own process (one host of a deployment), on a free port."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        self.env = {**os.environ, **SECRETS, "PORT": str(self.port), "LOG_LEVEL": "warning",
                    "SECRETS_DIR": str(workdir / "secrets"),
                    "VOICE_FILE_STORAGE_DIR": str(workdir / "files"), **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Spawn the process (does not wait; see :meth:`wait_ready`)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 180.0) -> ServerProcess:
        """Wait until ``GET /health`` answers (any status: the process serves)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.url}/health", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail(f"server did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` to the process group and wait; the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator:
    """``spawn(env)`` → a started :class:`ServerProcess`; all are stopped after the test."""
    started: list[ServerProcess] = []

    def _spawn(env: dict[str, str]) -> ServerProcess:
        server = ServerProcess(env, tmp_path).start()
        started.append(server)
        return server

    yield _spawn
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def pair(postgres_admin: str, redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Two server processes ("hosts") on one PostgreSQL database and one Redis, started together."""
    workdir = tmp_path_factory.mktemp("pair")
    # the load balancer in front of both is on loopback: its X-Forwarded-For names the client
    env = {"DATABASE_URL": fresh_database(postgres_admin), "REDIS_URL": redis_server,
           "FORWARDED_ALLOW_IPS": "127.0.0.1", "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "20",
           "SERVICEAI_REALTIME_MINT_PER_MINUTE": "5", "REALTIME_HOST_ADDRESSES": '["127.0.0.1"]',
           **VERTEBRO_ENV, "WS_MAX_CONNECTIONS": "3", "VOICE_MAX_CONCURRENT_SESSIONS": "5"}
    servers = [ServerProcess(env, workdir).start() for _ in range(2)]
    for server in servers:
        server.wait_ready()
    yield servers
    for server in servers:
        server.stop()
