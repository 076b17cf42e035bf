"""webrtcSignaling over a real WebSocket to the running server, with an aiortc caller."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from adapters.providers.wer import word_error_rate
from adapters.providers.whisper import WhisperASR
from tools.caller import Caller, speech_48k


def _new_session(base: str, token: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{base}/v1/sessions", headers=headers,
                   json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token})
    return r.json()["data"]


@pytest.fixture
def settings(make_settings):
    """Webhooks may reach the loopback receiver."""
    return make_settings(webhook_allowed_networks=["127.0.0.1/32"], webhook_base_delay=0.05)


@pytest.fixture
def rt(live_server, vb_jwt):
    token = vb_jwt()
    session = _new_session(live_server.url, token)
    ws_base = live_server.url.replace("http://", "ws://")
    return live_server, session, token, f"{ws_base}/v1/realtime/{session['session_id']}"


async def _recv(ws, kind: str, timeout: float = 30.0) -> dict:
    async def loop():
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message

    return await asyncio.wait_for(loop(), timeout)


async def test_conversation_over_webrtc(rt, receiver):
    server, session, token, url = rt
    async with httpx.AsyncClient() as http:
        hook = await http.post(f"{server.url}/v1/voice/webhooks", headers={"Authorization": f"Bearer {token}"},
                               json={"url": receiver.url, "secret": "whsec-realtime-0123456789",
                                     "events": ["session.state_changed", "transcription.complete"]})
        assert hook.status_code == 201, hook.text
    caller = Caller()
    try:
        async with websockets.connect(f"{url}?token={session['ephemeral_token']}") as ws:
            assert (await _recv(ws, "ready"))["session_id"] == session["session_id"]
            await ws.send(json.dumps({"type": "offer", "sdp": await caller.offer()}))
            await caller.accept((await _recv(ws, "answer"))["sdp"])
            await asyncio.sleep(0.5)
            spoken = "Please tell me the balance of my savings account."
            caller.mic.play(await speech_48k(spoken))
            transcript = await _recv(ws, "transcript", 60)
            assert word_error_rate(spoken, transcript["text"]) <= 0.2, transcript
            reply = await _recv(ws, "reply", 60)
            assert reply["text"]
            metrics = await _recv(ws, "metrics", 60)
            assert metrics["response_latency"] > 0
            await caller.wait_for(lambda e: e["type"] == "visemes", 10)  # also on the data channel
            while (await _recv(ws, "state", 60))["state"] != "idle":
                pass
            await asyncio.sleep(0.3)
            heard = await WhisperASR().transcribe(bytes(caller.received), "en", False)
            assert word_error_rate(reply["text"], heard.text) <= 0.25, (reply["text"], heard.text)
            await ws.send(json.dumps({"type": "bye"}))
    finally:
        await caller.close()
    await asyncio.sleep(0.3)
    assert server.app.services.peers.active == 0
    # The voice session's state and its webhooks followed the loop.
    await asyncio.to_thread(receiver.wait, lambda: "transcription.complete" in receiver.events())
    bodies = [json.loads(r["body"]) for r in receiver.accepted]
    heard = [b["data"] for b in bodies if b["event"] == "transcription.complete"]
    assert heard[0]["channel"] == "realtime" and heard[0]["text"] == transcript["text"]
    await asyncio.to_thread(receiver.wait, lambda: sum(e == "session.state_changed" for e in receiver.events()) >= 4)
    bodies = [json.loads(r["body"]) for r in receiver.accepted]
    changes = [(b["data"]["from"], b["data"]["to"]) for b in bodies if b["event"] == "session.state_changed"]
    assert changes[:4] == [("idle", "listening"), ("listening", "thinking"), ("thinking", "speaking"),
                           ("speaking", "idle")], changes


async def test_auth_by_first_message_and_refusals(rt, vb_jwt):
    server, session, token, url = rt
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert (await _recv(ws, "ready"))["session_id"] == session["session_id"]
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "offer", "sdp": "v=0"}))  # not an auth message
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{url}?token=wrong"):
            pass
    assert refused.value.response.status_code == 401
    other = vb_jwt("tenant-other", "user-456")
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{url}?token={other}"):
            pass
    assert refused.value.response.status_code == 404
    bad = url.rsplit("/", 1)[0] + "/sess-unknown"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(bad):
            pass
    assert refused.value.response.status_code == 404
    assert json.loads(refused.value.response.body)["error"]["code"] == "SESSION_NOT_FOUND"


async def test_bad_messages_get_errors_and_leave_no_peer(rt):
    server, session, _, url = rt
    async with websockets.connect(f"{url}?token={session['ephemeral_token']}") as ws:
        await _recv(ws, "ready")
        await ws.send("not json")
        assert (await _recv(ws, "error"))["code"] == "INVALID_JSON"
        await ws.send(json.dumps({"type": "dance"}))
        assert (await _recv(ws, "error"))["code"] == "UNKNOWN_MESSAGE"
        await ws.send(json.dumps({"type": "offer", "sdp": "v=0\r\ngarbage"}))
        assert (await _recv(ws, "error"))["code"] == "INVALID_SDP"
        await ws.send(json.dumps({"type": "ice", "candidate": {"candidate": "candidate:x"}}))
        assert (await _recv(ws, "error"))["code"] == "NO_PEER"
        assert server.app.services.peers.active == 0


async def test_session_end_closes_socket(rt):
    server, session, token, url = rt
    caller = Caller()
    try:
        async with websockets.connect(f"{url}?token={session['ephemeral_token']}") as ws:
            await _recv(ws, "ready")
            await ws.send(json.dumps({"type": "offer", "sdp": await caller.offer()}))
            await _recv(ws, "answer")
            assert server.app.services.peers.active == 1
            async with httpx.AsyncClient() as http:
                r = await http.delete(f"{server.url}/v1/sessions/{session['session_id']}",
                                      headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200
            assert (await _recv(ws, "closed", 10))["reason"] == "session_ended"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 4404
    finally:
        await caller.close()
    assert server.app.services.peers.active == 0
