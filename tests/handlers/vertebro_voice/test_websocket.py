"""The Vertebro WebSocket text protocol with real WebSocket clients: Starlette's TestClient and the
``websockets`` package against a live uvicorn."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC

ERRORS = [
    ("not json at all", "Invalid JSON"),
    ("[1, 2]", "a message must be a JSON object"),
    ('{"no": "type"}', "unknown message type None"),
    ('{"type": "shout"}', "unknown message type 'shout'"),
    ('{"type": "text_input"}', "text_input needs a non-empty string"),
    ('{"type": "text_input", "text": "   "}', "text_input needs a non-empty string"),
    ('{"type": "navigation_command"}', "navigation_command needs a non-empty string"),
    ('{"type": "navigation_command", "action": "scroll", "params": [1]}', '"params" must be an object'),
    ('{"type": "audio_chunk", "data": "AAAA", "sequence": 0, "is_final": false}',
     "audio streaming over this socket is not available yet"),
]


def test_protocol_errors_never_drop_the_socket(client, voice_session):
    sid = voice_session["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        assert ws.receive_json() == {"type": "status", "status": "ready",
                                     "message": "Voice assistant ready. How can I help you today?"}
        for frame, expected in ERRORS:
            ws.send_text(frame)
            reply = ws.receive_json()
            assert reply["type"] == "error" and expected in reply["message"], frame
            assert set(reply) == {"type", "message"}
        ws.send_bytes(b"\x00\x01binary audio")
        reply = ws.receive_json()
        assert reply["type"] == "error" and "not available yet" in reply["message"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # still open after every error


def test_navigation_command_is_recorded_and_sets_the_current_page(client, voice_session):
    sid = voice_session["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        ws.receive_json()
        ws.send_json({"type": "navigation_command", "action": "navigate", "params": {"url": "/pricing"}})
        reply = ws.receive_json()
        assert reply["type"] == "status" and reply["status"] == "navigation" and reply["message"]
        ws.send_json({"type": "navigation_command", "action": "scroll"})
        assert ws.receive_json()["status"] == "navigation"
    items = client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]
    assert [i["content"]["navigation"] for i in items] == [{"action": "scroll", "params": {}},
                                                          {"action": "navigate", "params": {"url": "/pricing"}}]
    assert all(i["type"] == "user" for i in items)


def test_handshake_refusals_are_http_errors(client, voice_session):
    sid = voice_session["session_id"]
    cases = [({}, sid, 401, "Unauthorized"),
             ({"Authorization": "Basic " + base64.b64encode(b"voice-admin:wrong").decode()}, sid, 401, "Unauthorized"),
             ({**BASIC}, "0" * 32, 404, "voice_session_not_found")]
    for headers, target, status, detail in cases:
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect(f"{API}/ws/{target}", headers=headers):
                pass
        assert denied.value.status_code == status and denied.value.json() == {"detail": detail}
    plain = client.get(f"{API}/ws/{sid}", auth=AUTH)  # no Upgrade: the contract's 426
    assert plain.status_code == 426


def test_session_deleted_or_expired_while_connected_closes_with_1008(client, clock, voice_session):
    sid = voice_session["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        ws.receive_json()
        clock.advance(minutes=59)
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # activity keeps the session alive
        clock.advance(minutes=61)
        ws.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    sid = client.post(f"{API}/session/start", json={"project": "demo"}, auth=AUTH).json()["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        ws.receive_json()
        assert client.delete(f"{API}/session/{sid}", auth=AUTH).status_code == 204
        ws.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


@pytest.fixture
def vertebro_overrides(vertebro_overrides):
    return {**vertebro_overrides, "ws_max_connections": 2}


def test_ws_max_connections(client, voice_session):
    sid = voice_session["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as first, \
            client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as second:
        first.receive_json()
        second.receive_json()
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}):
                pass
        assert denied.value.status_code == 503 and denied.value.json() == {"detail": "ws_connection_limit"}
        analytics = client.get(f"{API}/analytics/project/demo", auth=AUTH).json()
        assert analytics["ws_max_connections"] == 2
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as third:  # slots freed on close
        assert third.receive_json()["status"] == "ready"


def test_live_uvicorn_with_the_websockets_client(app):
    """A real socket: handshake with Basic auth, the protocol, and HTTP refusals before upgrade."""
    import httpx
    import websockets
    from websockets.exceptions import InvalidStatus

    with LiveServer(app) as server:
        r = httpx.post(f"{server.url}{API}/session/start", json={"project": "demo", "language": "ru-RU"}, auth=AUTH)
        body = r.json()
        assert body["websocket_url"] == f"ws://127.0.0.1:{server.port}{API}/ws/{body['session_id']}"

        async def talk():
            async with websockets.connect(body["websocket_url"], additional_headers={**BASIC}) as ws:
                ready = json.loads(await ws.recv())
                assert ready == {"type": "status", "status": "ready",
                                 "message": "Голосовой ассистент готов. Чем могу помочь?"}
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await ws.recv()) == {"type": "pong"}
                await ws.send("{broken")
                assert json.loads(await ws.recv()) == {"type": "error", "message": "Invalid JSON"}
                await ws.send(json.dumps({"type": "audio_chunk", "data": "AAAA", "sequence": 0, "is_final": True}))
                assert json.loads(await ws.recv())["type"] == "error"
                await ws.ping()  # protocol-level ping/pong works too
            with pytest.raises(InvalidStatus) as denied:
                async with websockets.connect(body["websocket_url"]):
                    pass
            assert denied.value.response.status_code == 401
            assert json.loads(denied.value.response.body) == {"detail": "Unauthorized"}

        asyncio.run(talk())
