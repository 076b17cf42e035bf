"""Realtime across processes: a WebRTC peer lives in the process that answered its offer; the
request that ends or refreshes its session may land on another process, and the peer hears of
it through Redis pub/sub (adapters/events.py)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from handlers.virtual_banker.security import mint_jwt
from handlers.virtual_banker.session_channel import RECHECK_SECONDS
from tests.scaleout.conftest import SECRETS, ServerProcess
from tools.caller import Caller


async def _recv(ws, kind: str, timeout: float = 30.0) -> dict:
    async def loop() -> dict:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message

    return await asyncio.wait_for(loop(), timeout)


def _session(base: str, token: str) -> dict:
    r = httpx.post(f"{base}/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                   json={"tenant_id": "tenant-rt", "user_id": "user-rt", "auth_assertion": token})
    r.raise_for_status()
    return r.json()["data"]


@pytest.fixture
def vb_token() -> str:
    return mint_jwt("tenant-rt", "user-rt", SECRETS["VIRTUAL_BANKER_JWT_SECRET"], 600)


async def test_session_ended_on_another_process_closes_the_peer(pair: list[ServerProcess], vb_token: str) -> None:
    """Peer on process A, endSession on process B: A's socket says `closed: session_ended` and
    closes with 4404 long before A's own database re-check would have noticed."""
    a, b = pair
    session = _session(a.url, vb_token)
    url = f"{a.url.replace('http://', 'ws://')}/v1/realtime/{session['session_id']}?token={session['ephemeral_token']}"
    caller = Caller()
    try:
        async with websockets.connect(url) as ws:
            await _recv(ws, "ready")
            await ws.send(json.dumps({"type": "offer", "sdp": await caller.offer()}))
            await caller.accept((await _recv(ws, "answer"))["sdp"])
            async with httpx.AsyncClient(timeout=30) as http:
                ended = await http.delete(f"{b.url}/v1/sessions/{session['session_id']}",
                                          headers={"Authorization": f"Bearer {vb_token}"})
            started = time.monotonic()
            assert ended.status_code == 200
            assert (await _recv(ws, "closed", RECHECK_SECONDS))["reason"] == "session_ended"
            elapsed = time.monotonic() - started
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    finally:
        await caller.close()
    print(f"\nsession ended on B -> peer on A closed after {elapsed * 1000:.0f} ms")
    assert elapsed < RECHECK_SECONDS / 2  # the event, not the fallback re-check, closed it


async def test_token_refreshed_on_another_process_keeps_the_socket(pair: list[ServerProcess],
                                                                   vb_token: str) -> None:
    """refreshToken on B: the socket on A (opened with the old ephemeral token) stays open and
    keeps answering; the session's new expiry reached it over the bus."""
    a, b = pair
    session = _session(a.url, vb_token)
    url = f"{a.url.replace('http://', 'ws://')}/v1/realtime/{session['session_id']}?token={session['ephemeral_token']}"
    async with websockets.connect(url) as ws:
        await _recv(ws, "ready")
        async with httpx.AsyncClient(timeout=30) as http:
            refreshed = await http.post(f"{b.url}/v1/sessions/{session['session_id']}/refresh-token",
                                        headers={"Authorization": f"Bearer {vb_token}"})
        assert refreshed.status_code == 200
        await ws.send(json.dumps({"type": "ping"}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] != "closed", reply
