"""``WORKERS=N``: N worker processes on one port, started safely together, stopped gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under supervisor ``pid`` (multiprocessing spawns; its resource
    tracker is a child too, and is not a worker)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    found = []
    for child in (int(p) for p in out.split()):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except FileNotFoundError:
            continue
    return found


def _running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie left to a container's init that never reaps does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state


def test_two_workers_on_sqlite_serve_one_port_and_stop_gracefully(spawn, redis_server: str, tmp_path: Path) -> None:
    """Two workers on the embedded SQLite database (migrated once, under its lock file) answer
    on one port; SIGTERM stops both and the supervisor exits 0."""
    server = spawn({"WORKERS": "2", "REDIS_URL": redis_server, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"})
    server.wait_ready()
    assert server.proc is not None
    deadline = time.monotonic() + 60
    while len(workers := _workers(server.proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 2, workers

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(client.get(f"{server.url}/health") for _ in range(40)))
        return [r.status_code for r in answers]

    assert asyncio.run(burst()) == [200] * 40
    assert server.stop(signal.SIGTERM, timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [w for w in workers if _running(w)] == []


def test_several_workers_without_redis_refuse_to_start(tmp_path: Path) -> None:
    """WORKERS=2 without REDIS_URL would grant every rate-limit budget once per worker: the
    server refuses to start, naming the setting it needs."""
    env = {**os.environ, "WORKERS": "2", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "SECRETS_DIR": str(tmp_path / "secrets")}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr
