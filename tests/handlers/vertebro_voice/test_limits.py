"""Issue 13 item 6: the strings the contract left open have declared limits, enforced over HTTP and the
WebSocket of a live server: past a limit the answer is 422 (or an ``error`` frame) and nothing is stored."""

from __future__ import annotations

import asyncio
import json

import anyio
import httpx
import pytest
import websockets

from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC

MB10 = "а" * 10_000_000  # 10 M characters (20 MB of UTF-8): what issue 13 sent


def _loc(r: httpx.Response) -> list[list]:
    return [item["loc"] for item in r.json()["detail"]]


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, auth=AUTH, timeout=120) as client:
        yield client


def test_ten_megabyte_strings_are_refused_with_422_and_nothing_is_stored(app, http):
    vertebro = app.bundles["vertebro-voice"]
    for path, body in [("/dialog/intent", {"text": MB10}), ("/dialog/intent", {"text": "hi", "project": MB10}),
                       ("/session/start", {"project": MB10}), ("/synthesize", {"text": "hi", "voice": MB10}),
                       ("/recognize", {"text_hint": MB10})]:
        r = http.post(f"{API}{path}", json=body)
        assert r.status_code == 422, (path, r.text[:200])
        assert all({"loc", "msg", "type"} <= set(item) for item in r.json()["detail"])
    assert anyio.run(vertebro.sessions.counts, MB10, vertebro.now()) == (0, 0)
    r = http.post(f"{API}/samples", data={"project": "p" * 201}, files=[("files", ("a.wav", b"RIFF", "audio/wav"))])
    assert r.status_code == 422
    assert http.get(f"{API}/samples", params={"project": "p" * 200}).json() == {"samples": []}


def test_every_declared_limit_holds_at_the_boundary(http):
    sid = http.post(f"{API}/session/start", json={"project": "demo", "language": "en-US"}).json()["session_id"]
    ok = [("/dialog/intent", {"text": "x" * 2000}), ("/session/start", {"project": "p" * 200, "user_id": "u" * 200}),
          ("/synthesize", {"text": "ok", "voice": "default", "emotion": "e" * 64, "language": "en-US"}),
          ("/dialog/respond", {"session_id": sid, "project": "demo", "text": "x" * 2000,
                               "metadata": {"k": "v" * 16000}})]
    for path, body in ok:
        r = http.post(f"{API}{path}", json=body)
        assert r.status_code in (200, 201, 202), (path, r.text[:300])
    over = [
        ("/dialog/intent", {"text": "x" * 2001}, None),
        ("/dialog/intent", {"text": "hi", "context": {"current_page": "/" * 2049}}, None),
        ("/dialog/intent", {"text": "hi", "context": {"previous_intents": ["a"] * 21}}, None),
        ("/dialog/intent", {"text": "hi", "session_id": "s" * 65}, None),
        ("/session/start", {"project": "p" * 201}, None),
        ("/session/start", {"project": "p", "user_id": "u" * 201}, None),
        ("/session/start", {"project": "p", "language": "l" * 36}, None),
        ("/session/start", {"project": "p", "voice_preference": {"voice_id": "v" * 201}}, None),
        ("/synthesize", {"text": "ok", "emotion": "e" * 65}, None),
        ("/synthesize", {"text": "ok", "options": {f"k{i}": i for i in range(17)}}, None),
        ("/synthesize", {"text": "ok", "options": {"note": "n" * 4100}}, ["body", "options"]),
        ("/recognize", {"text_hint": "t" * 5001}, None),
        ("/dialog/respond", {"session_id": sid, "project": "demo", "text": "x" * 2001}, None),
        ("/dialog/respond", {"session_id": sid, "project": "demo", "text": "hi", "metadata": {"k": "v" * 16400}},
         ["body", "metadata"]),
    ]
    history = http.get(f"{API}/session/{sid}/history", params={"limit": 200}).json()
    for path, body, loc in over:
        r = http.post(f"{API}{path}", json=body)
        assert r.status_code == 422, (path, json.dumps(body)[:100], r.text[:300])
        if loc:
            assert loc in _loc(r)
    assert http.get(f"{API}/session/{sid}/history", params={"limit": 200}).json() == history  # nothing recorded
    for url in (f"{API}/session/{'s' * 65}", f"{API}/audio/{'a' * 65}", f"{API}/analytics/project/{'p' * 201}"):
        assert http.get(url).status_code == 422, url
    assert http.get(f"{API}/jobs", params={"project": "p" * 201}).status_code == 422
    assert http.delete(f"{API}/samples/{'s' * 65}").status_code == 422
    assert http.post(f"{API}/train", data={"project": "p" * 201}).status_code == 422
    files = [("files", (f"{i}.wav", b"RIFF", "audio/wav")) for i in range(21)]
    assert http.post(f"{API}/samples", data={"project": "demo"}, files=files).status_code == 422


def test_websocket_frames_past_the_limits_get_an_error_and_the_socket_stays_open(live_server, http):
    body = http.post(f"{API}/session/start", json={"project": "demo", "language": "en-US"}).json()

    async def talk() -> list[dict]:
        replies = []
        async with websockets.connect(body["websocket_url"], additional_headers={**BASIC}, max_size=None) as ws:
            await ws.recv()
            for frame in ({"type": "text_input", "text": "x" * 2001},
                          {"type": "text_input", "text": MB10[:3_000_000]},
                          {"type": "navigation_command", "action": "a" * 65},
                          {"type": "navigation_command", "action": "open", "params": {"u": "x" * 5000}},
                          {"type": "navigation_command", "action": "open", "params": {str(i): i for i in range(17)}},
                          {"type": "audio_chunk", "data": "A" * 1398108, "sequence": 0},
                          {"type": "ping"}):
                await ws.send(json.dumps(frame, ensure_ascii=False))
                replies.append(json.loads(await ws.recv()))
        return replies

    replies = asyncio.run(talk())
    assert [r["type"] for r in replies] == ["error"] * 6 + ["pong"]
    assert "at most 2000 characters" in replies[0]["message"] and "at most 1 MiB" in replies[5]["message"]
    history = http.get(f"{API}/session/{body['session_id']}/history").json()
    assert history["items"] == []
