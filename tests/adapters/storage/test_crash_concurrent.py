"""Every acknowledged write survives SIGKILL, also while many writers share a group commit."""

from __future__ import annotations

import asyncio
import signal

import httpx
from sqlalchemy import create_engine, text

from handlers.virtual_banker.security import mint_jwt
from tests.adapters.storage.test_crash import SECRET, _port, _start

WRITERS = 24
ACKNOWLEDGED_BEFORE_KILL = 150


async def _write_until_killed(url: str, token: str, server) -> list[str]:
    """Concurrent createSession calls; SIGKILL the server once enough were acknowledged.
    Returns the ids of the sessions whose 201 arrived complete."""
    acknowledged: list[str] = []
    body = {"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token}
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=10) as client:

        async def writer() -> None:
            while True:
                try:
                    r = await client.post("/v1/sessions", json=body)
                except httpx.HTTPError:
                    return  # the server is gone: this write was never acknowledged
                assert r.status_code == 201, r.text
                acknowledged.append(r.json()["data"]["session_id"])
                if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL and server.poll() is None:
                    server.send_signal(signal.SIGKILL)

        await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return acknowledged


def test_every_acknowledged_write_survives_sigkill_under_concurrent_writers(database_url):
    port = _port()
    token = mint_jwt("tenant-123", "user-456", SECRET, 600)
    server = _start(database_url, port, {"VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000"})
    try:
        acknowledged = asyncio.run(_write_until_killed(f"http://127.0.0.1:{port}", token, server))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
        server.wait()
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT session_id FROM vb_session")).scalars())
    finally:
        engine.dispose()
    missing = [s for s in acknowledged if s not in stored]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged sessions were lost"
