"""Fault injection over HTTP against a live uvicorn server (issue 13 item 11): the database
unreachable (PostgreSQL stopped), the shared counters unreachable (Redis stopped), the disk full
under the SQLite database (a small tmpfs), a speech engine that cannot run. Virtual Banker,
Virstack and ServiceAi each answer a declared status in their own envelope (503 with Retry-After
for an outage, never 500), lose no acknowledged write, and recover when the fault clears."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import utcnow
from gateway.__main__ import uvicorn_options
from gateway.app import create_app
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None) if Path("/usr/lib/postgresql").exists() \
    else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(command: str) -> None:
    runner = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.getuid() == 0 else ["sh", "-c", command]
    subprocess.run(runner, check=True, capture_output=True)


class Postgres:
    """A throwaway PostgreSQL (scripts/pg-test-server) that can be stopped and started again."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pg-fault-", dir="/tmp")
        self.port = _free_port()
        out = subprocess.run([str(ROOT / "scripts" / "pg-test-server"), "start", self.dir, str(self.port)],
                             capture_output=True, text=True, check=True)
        self.url = out.stdout.strip()

    def stop(self) -> None:
        _as_postgres(f"'{PG_BIN}/pg_ctl' -D '{self.dir}/data' -m immediate -w stop")

    def start(self) -> None:
        _as_postgres(f"'{PG_BIN}/pg_ctl' -D '{self.dir}/data' -o \"-c listen_addresses=127.0.0.1 -p {self.port} "
                     f"-k '{self.dir}'\" -l '{self.dir}/log' -w start")

    def close(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "pg-test-server"), "stop", self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server child process on a free port (no persistence), stoppable and restartable."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


class Callers:
    """One caller of each API against a live server: a VB user, a Virstack admin, a ServiceAi user."""

    def __init__(self, server: LiveServer, app: Any, vb_jwt: Callable[..., str]) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        token = vb_jwt("tenant-f", "user-f")
        self.vb = {"Authorization": f"Bearer {token}"}
        self.vb_token = token
        account = {"email": "faults@example.com", "password": "long-enough-password"}
        r = self.http.post("/v1/users/register", json={**account, "organization_name": "F", "first_name": "A",
                                                       "last_name": "B"})
        assert r.status_code == 201, r.text
        self.virstack_account = account
        self.virstack = {"Authorization": f"Bearer {self._login().json()['data']['token']}"}
        sai = app.bundles["serviceai"]

        async def mint() -> str:
            await sai.users.upsert_user(user_id="fa", organization_id="org-f", now=utcnow(), display_name="F",
                                        role="member", entitlements=["chatty-voice"], permissions=[])
            return (await sai.users.mint_token("fa", utcnow()))[0]

        self.sai = {"Authorization": f"Bearer {asyncio.run(mint())}"}

    def _login(self) -> httpx.Response:
        return self.http.post("/v1/users/login", json=self.virstack_account)

    # --- one write and one read per API -----------------------------------------------------
    def vb_write(self) -> httpx.Response:
        return self.http.post("/v1/sessions", headers=self.vb, json={"tenant_id": "tenant-f", "user_id": "user-f",
                                                                    "auth_assertion": self.vb_token})

    def vb_read(self) -> httpx.Response:
        return self.http.get("/v1/sessions", headers=self.vb)

    def virstack_write(self, name: str) -> httpx.Response:
        from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS

        settings = {**AGENT_SETTINGS, "identity": {"agent_name": name}}
        return self.http.post("/v1/agent", headers=self.virstack, json={"agent_settings": settings})

    def virstack_read(self) -> httpx.Response:
        return self.http.get("/v1/agent/list", headers=self.virstack)

    def sai_write(self, text: str) -> httpx.Response:
        return self.http.post("/api/chatty-voice/tools/execute", headers=self.sai,
                              json={"function": "create_note", "arguments": {"content": text}})

    def sai_read(self) -> httpx.Response:
        return self.http.post("/api/chatty-voice/tools/execute", headers=self.sai,
                              json={"function": "list_notes", "arguments": {"limit": 20}})

    def acknowledged(self) -> dict[str, set[str]]:
        """What each API reports as stored: VB session ids, Virstack agent names, ServiceAi notes."""
        agents = self.virstack_read().json()["data"]
        return {"vb": {s["session_id"] for s in self.vb_read().json()["data"]["sessions"]},
                "virstack": {a["agent_settings"]["identity"]["agent_name"] for a in agents},
                "serviceai": {n["content"] for n in self.sai_read().json()["data"]["notes"]}}


def _assert_outage(r: httpx.Response, api: str) -> None:
    """A declared 503 in ``api``'s envelope, with Retry-After."""
    assert r.status_code == 503, (api, r.status_code, r.text)
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    if api == "vb":
        assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    elif api == "virstack":
        assert body == {"success": False, "code": 503, "error": body["error"], "data": None}
    else:
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"


def _wait_until(probe: Callable[[], bool], timeout: float = 30.0) -> float:
    started = time.monotonic()
    while not probe():
        assert time.monotonic() - started < timeout, "no recovery"
        time.sleep(0.2)
    return time.monotonic() - started


def _writes(callers: Callers, tag: str) -> dict[str, str]:
    """One acknowledged write per API; returns what each stored."""
    vb = callers.vb_write()
    assert vb.status_code == 201, vb.text
    assert callers.virstack_write(f"agent-{tag}").status_code == 201
    r = callers.sai_write(f"note-{tag}")
    assert r.status_code == 200 and r.json()["success"], r.text
    return {"vb": vb.json()["data"]["session_id"], "virstack": f"agent-{tag}", "serviceai": f"note-{tag}"}


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    if PG_BIN is None or shutil.which("su") is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
    pg = Postgres()
    yield pg
    pg.close()


def test_database_unreachable(make_settings, vb_jwt, postgres):
    settings = make_settings(database_url=postgres.url)
    app = create_app(settings)
    with LiveServer(app, **uvicorn_options(settings)) as server:
        callers = Callers(server, app, vb_jwt)
        acknowledged = [_writes(callers, f"before-{i}") for i in range(3)]
        postgres.stop()
        started = time.monotonic()
        for api, r in [("vb", callers.vb_read()), ("vb", callers.vb_write()),
                       ("virstack", callers.virstack_read()), ("virstack", callers.virstack_write("lost")),
                       ("virstack", callers._login()),
                       ("serviceai", callers.sai_read()), ("serviceai", callers.sai_write("lost"))]:
            _assert_outage(r, api)
        answered = time.monotonic() - started
        postgres.start()
        recovered = _wait_until(lambda: callers.vb_read().status_code == 200)
        acknowledged.append(_writes(callers, "after"))
        stored = callers.acknowledged()
    print(f"\ndatabase down: 7 requests answered 503 in {answered:.2f} s; recovered {recovered:.2f} s after restart")
    for api in ("vb", "virstack", "serviceai"):
        assert {w[api] for w in acknowledged} <= stored[api], api
    assert len(stored["vb"]) == 4 and "lost" not in stored["virstack"] and "lost" not in stored["serviceai"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server (Debian package) is not installed")
def test_redis_unreachable(make_settings, vb_jwt):
    redis = Redis()
    try:
        settings = make_settings(redis_url=redis.url, vb_default_rate_limit_per_minute=1000)
        app = create_app(settings)
        with LiveServer(app, **uvicorn_options(settings)) as server:
            callers = Callers(server, app, vb_jwt)
            assert callers.vb_read().status_code == 200
            redis.stop()
            _assert_outage(callers.vb_read(), "vb")  # the tenant+user budget lives in Redis
            _assert_outage(callers._login(), "virstack")  # so do the failed-login budgets
            r = callers.http.post("/api/realtime/webrtc", json={"sdp": "v=0\r\n"},
                                  headers={**callers.sai, "X-CSRF-Token": "x"})  # the per-IP budget
            _assert_outage(r, "serviceai")
            redis.start()
            recovered = _wait_until(lambda: callers.vb_read().status_code == 200)
            assert callers._login().status_code == 200
            print(f"\nredis down: 503s; recovered {recovered:.2f} s after restart")
    finally:
        if redis.process and redis.process.poll() is None:
            redis.stop()


def _mount_tmpfs(directory: Path, size: str) -> bool:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                          capture_output=True).returncode == 0


def test_disk_full_under_the_database(make_settings, vb_jwt, tmp_path):
    disk = tmp_path / "disk"
    if os.getuid() != 0 or not _mount_tmpfs(disk, "8m"):
        pytest.skip("needs root to mount a small tmpfs")
    filler = disk / "filler"
    try:
        settings = make_settings(database_url=f"sqlite:///{disk / 'gateway.db'}")
        app = create_app(settings)
        with LiveServer(app, **uvicorn_options(settings)) as server:
            callers = Callers(server, app, vb_jwt)
            acknowledged = [_writes(callers, "before")]
            free = shutil.disk_usage(disk).free
            with filler.open("wb") as f:  # fill the disk to the last block
                f.write(b"\0" * free)
                f.flush()
                os.fsync(f.fileno())
            refused: dict[str, int] = {"vb": 0, "virstack": 0, "serviceai": 0}
            for i in range(40):  # writes until each API has met the full disk
                note = f"full-{i}-" + "x" * 2000
                for api, r in [("vb", callers.vb_write()), ("virstack", callers.virstack_write(f"full-{i}")),
                               ("serviceai", callers.sai_write(note))]:
                    if r.status_code == 503:
                        _assert_outage(r, api)
                        refused[api] += 1
                        continue
                    assert r.status_code in (200, 201), (api, r.status_code, r.text)
                    if api == "vb":
                        acknowledged.append({api: r.json()["data"]["session_id"]})
                    else:
                        acknowledged.append({api: f"full-{i}" if api == "virstack" else note})
                if all(refused.values()):
                    break
            assert all(refused.values()), refused
            filler.unlink()
            recovered = _wait_until(lambda: callers.vb_write().status_code == 201)
            acknowledged.append(_writes(callers, "after"))
            stored = callers.acknowledged()
        print(f"\ndisk full: 503s {refused}; recovered {recovered:.2f} s after space was freed")
        for api in ("vb", "virstack", "serviceai"):
            assert {w[api] for w in acknowledged if api in w} <= stored[api], api
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_speech_engine_failure_is_503_then_recovers(make_settings, vb_jwt):
    from adapters.providers.whisper import WhisperASR, default_model_dir

    if not WhisperASR().available():
        pytest.skip("faster-whisper with the bundled model is needed")
    settings = make_settings(asr_model_dir="/nonexistent/whisper-model")
    app = create_app(settings)
    with LiveServer(app, **uvicorn_options(settings)) as server:
        callers = Callers(server, app, vb_jwt)
        session_id = callers.vb_write().json()["data"]["session_id"]
        assert callers.http.post("/v1/voice/sessions", json={"session_id": session_id},
                                 headers=callers.vb).status_code == 201
        wav = callers.http.post(f"/v1/voice/sessions/{session_id}/synthesize", headers={**callers.vb,
                                "Accept": "audio/wav"}, json={"text": "Hello there", "sample_rate": 16000}).content
        url = f"/v1/voice/sessions/{session_id}/transcribe"
        r = callers.http.post(url, headers=callers.vb, files={"audio": ("a.wav", wav, "audio/wav")})
        assert r.status_code == 503 and r.json()["error"]["code"] == "PROVIDER_UNAVAILABLE", r.text
        status = callers.http.get(f"/v1/voice/sessions/{session_id}/status", headers=callers.vb).json()
        assert status["data"]["asr_status"] == "error"
        app.services.providers.asr("mock").model_dir = default_model_dir()  # the fault clears
        r = callers.http.post(url, headers=callers.vb, files={"audio": ("a.wav", wav, "audio/wav")})
        assert r.status_code == 200 and "hello" in r.json()["data"]["text"].lower(), r.text


def test_disk_full_on_the_vertebro_file_store(make_settings, tmp_path):
    from handlers.vertebro_voice.security import hash_password

    disk = tmp_path / "files"
    if os.getuid() != 0 or not _mount_tmpfs(disk, "2m"):
        pytest.skip("needs root to mount a small tmpfs")
    filler = disk / "filler"
    auth = ("u", "a long enough password")
    try:
        settings = make_settings(vertebro_basic_users={"u": hash_password(auth[1])}, voice_file_storage_dir=str(disk))
        with LiveServer(create_app(settings), **uvicorn_options(settings)) as server, \
                httpx.Client(base_url=server.url, auth=auth, timeout=30) as http:
            r = http.post("/api/v1/voice/synthesize", json={"text": "stored before the disk filled up"})
            assert r.status_code == 202, r.text
            before = r.json()["audio_url"]
            with filler.open("wb") as f:
                f.write(b"\0" * shutil.disk_usage(disk).free)
            r = http.post("/api/v1/voice/synthesize", json={"text": "this one cannot be stored"})
            assert r.status_code == 503 and isinstance(r.json()["detail"], str), r.text  # declared, its envelope
            assert not list(disk.rglob("*.tmp"))  # nothing half-written left behind
            assert http.get(before).status_code == 200  # the acknowledged file is intact
            filler.unlink()
            r = http.post("/api/v1/voice/synthesize", json={"text": "this one cannot be stored"})
            assert r.status_code == 202 and http.get(r.json()["audio_url"]).status_code == 200
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_a_redis_that_never_answers_stalls_nothing(make_settings, vb_jwt):
    """A blackholed Redis (TCP accepted, nothing ever answered): the requests that need the
    counters answer 503 within the deadline; everything else keeps its pace meanwhile."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(64)
    settings = make_settings(redis_url=f"redis://127.0.0.1:{blackhole.getsockname()[1]}/0")
    app = create_app(settings)
    try:
        with LiveServer(app, **uvicorn_options(settings)) as server:
            vb = {"Authorization": f"Bearer {vb_jwt()}"}
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                async def limited() -> tuple[int, float]:
                    started = time.perf_counter()
                    r = await http.get("/v1/sessions", headers=vb)
                    return r.status_code, time.perf_counter() - started

                async def unrelated() -> list[float]:  # ServiceAi's open operation: no counters needed
                    latencies = []
                    for _ in range(20):
                        started = time.perf_counter()
                        assert (await http.get("/api/version")).status_code == 200
                        latencies.append(time.perf_counter() - started)
                        await asyncio.sleep(0.05)
                    return latencies

                results = await asyncio.gather(unrelated(), *(limited() for _ in range(8)))
            latencies, refused = results[0], results[1:]
    finally:
        blackhole.close()
    print(f"\nblackholed redis: VB {[(s, round(t, 2)) for s, t in refused]}; unrelated GET max "
          f"{max(latencies) * 1000:.0f} ms")
    assert all(status == 503 and seconds < 5 for status, seconds in refused)
    assert max(latencies) < 0.5
