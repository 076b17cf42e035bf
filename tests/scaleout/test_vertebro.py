"""Vertebro Voice across processes: the live-session cap and the WebSocket cap are deployment-wide,
a session deleted on one process closes its socket on another, and a training job runs in
exactly one process and resumes in another when that one dies."""

from __future__ import annotations

import asyncio
import base64
import signal
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from adapters.providers import audio as codec
from adapters.providers.base import VoiceSettings
from adapters.providers.registry import ProviderRegistry
from tests.conftest import fresh_database
from tests.scaleout.conftest import VERTEBRO_ENV, VERTEBRO_PASSWORD, VERTEBRO_USER, ServerProcess

API = "/api/v1/voice"
AUTH = (VERTEBRO_USER, VERTEBRO_PASSWORD)
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{VERTEBRO_USER}:{VERTEBRO_PASSWORD}".encode()).decode()}


def _start_session(base: str) -> httpx.Response:
    return httpx.post(f"{base}{API}/session/start", json={"project": "scale", "language": "en-US"}, auth=AUTH,
                      timeout=30)


def test_live_session_cap_holds_across_processes(pair: list[ServerProcess]) -> None:
    """VOICE_MAX_CONCURRENT_SESSIONS=5: 12 concurrent starts over both processes → exactly 5 sessions."""

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, auth=AUTH) as client:
            return list(await asyncio.gather(*(client.post(
                f"{pair[i % 2].url}{API}/session/start", json={"project": "scale", "language": "en-US"})
                for i in range(12))))

    answers = asyncio.run(burst())
    try:
        assert Counter(r.status_code for r in answers) == {201: 5, 503: 7}
    finally:
        for r in answers:
            if r.status_code == 201:
                httpx.delete(f"{pair[0].url}{API}/session/{r.json()['session_id']}", auth=AUTH, timeout=30)


def test_websocket_cap_holds_across_processes(pair: list[ServerProcess]) -> None:
    """WS_MAX_CONNECTIONS=3: sockets opened on both processes; the 4th (on either) is refused 503,
    and a slot freed on one process is usable from the other."""
    created = _start_session(pair[0].url)
    assert created.status_code == 201, created.text
    sid = created.json()["session_id"]

    def ws_url(server: ServerProcess) -> str:
        return f"{server.url.replace('http://', 'ws://')}{API}/ws/{sid}"

    async def scenario() -> None:
        opened = []
        try:
            for i in range(3):
                ws = await websockets.connect(ws_url(pair[i % 2]), additional_headers=BASIC)
                assert (await ws.recv()).find('"ready"') > 0
                opened.append(ws)
            for server in pair:
                with pytest.raises(websockets.InvalidStatus) as refused:
                    await websockets.connect(ws_url(server), additional_headers=BASIC)
                assert refused.value.response.status_code == 503
            await opened.pop(0).close()  # a slot of process A
            await asyncio.sleep(0.3)
            ws = await websockets.connect(ws_url(pair[1]), additional_headers=BASIC)  # taken on process B
            opened.append(ws)
        finally:
            for ws in opened:
                await ws.close()

    try:
        asyncio.run(scenario())
    finally:
        httpx.delete(f"{pair[0].url}{API}/session/{sid}", auth=AUTH, timeout=30)


def test_session_deleted_on_another_process_closes_its_socket(pair: list[ServerProcess]) -> None:
    """Socket on A, deleteSession on B: A closes the socket (1008) at once, without a frame from
    the client."""
    sid = _start_session(pair[0].url).json()["session_id"]

    async def scenario() -> float:
        async with websockets.connect(f"{pair[0].url.replace('http://', 'ws://')}{API}/ws/{sid}",
                                      additional_headers=BASIC) as ws:
            await ws.recv()  # ready
            async with httpx.AsyncClient(timeout=30) as client:
                deleted = await client.delete(f"{pair[1].url}{API}/session/{sid}", auth=AUTH)
            started = time.monotonic()
            assert deleted.status_code == 204
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    print(f"\nsession deleted on B -> socket on A closed after {elapsed * 1000:.0f} ms")
    assert elapsed < 30  # the event closed it: the socket's own re-check waits up to 60 s


def _speech_wavs() -> list[bytes]:
    tts = ProviderRegistry().tts("mock")
    texts = ("One two three four five", "The weather is nice today", "Training a voice profile")
    return [codec.encode_wav(anyio.run(tts.synthesize, t, VoiceSettings(language="en-US"), 16000).pcm, 16000)
            for t in texts]


def test_training_runs_in_one_process_and_resumes_in_another(postgres_admin: str, redis_server: str,
                                                             tmp_path: Path) -> None:
    """Two processes on one PostgreSQL: the job is claimed by exactly one of them; that one is
    killed (SIGKILL) mid-run; the other takes it over after its claim goes stale and completes it
    from the checkpoint (same job, progress never lower, started_at kept)."""
    url = fresh_database(postgres_admin)
    env = {"DATABASE_URL": url, "REDIS_URL": redis_server, **VERTEBRO_ENV, "VOICE_TRAINING_STEP_DELAY": "0.4",
           "VOICE_TRAINING_EPOCHS": "10", "VOICE_TRAINING_STALE_SECONDS": "4",
           "VOICE_FILE_STORAGE_DIR": str(tmp_path / "shared-files")}
    servers = [ServerProcess(env, tmp_path).start() for _ in range(2)]
    engine = create_engine(url)
    try:
        for server in servers:
            server.wait_ready()
        files = [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(_speech_wavs())]
        assert httpx.post(f"{servers[0].url}{API}/samples", data={"project": "scale"}, files=files, auth=AUTH,
                          timeout=60).status_code == 200
        job = httpx.post(f"{servers[1].url}{API}/train", data={"project": "scale"}, auth=AUTH,
                         timeout=30).json()["job"]

        def status(server: ServerProcess = servers[0]) -> dict:
            return httpx.get(f"{server.url}{API}/status", params={"project": "scale"}, auth=AUTH,
                             timeout=30).json()["job"]

        def claimed_by() -> str | None:
            with engine.connect() as conn:
                return conn.execute(text("SELECT claimed_by FROM vertebro_training_job WHERE id = :id"),
                                    {"id": job["id"]}).scalar()

        deadline = time.monotonic() + 90
        while not ((mid := status())["status"] == "training" and mid["progress"] >= 40):
            assert time.monotonic() < deadline, mid
            time.sleep(0.1)
        owner = claimed_by()
        assert owner is not None
        runner = next(s for s in servers if s.proc and f":{s.proc.pid}:" in owner)
        survivor = next(s for s in servers if s is not runner)
        runner.stop(signal.SIGKILL)
        seen = []
        while (current := status(survivor))["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline + 60, current
            seen.append(current)
            time.sleep(0.2)
        assert current["status"] == "completed" and current["id"] == job["id"]
        assert current["started_at"] == mid["started_at"]
        progress = [mid["progress"]] + [j["progress"] for j in seen] + [current["progress"]]
        assert progress == sorted(progress)
        with engine.connect() as conn:
            attempts = conn.execute(text("SELECT attempts FROM vertebro_training_job WHERE id = :id"),
                                    {"id": job["id"]}).scalar()
        assert attempts == 2  # one claim by the killed process, one by the survivor
        assert survivor.proc is not None and survivor.proc.poll() is None
    finally:
        engine.dispose()
        for server in servers:
            server.stop()
