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
from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC, speech_wav

ERRORS = [
    ("not json at all", "Invalid JSON"),
    ("[1, 2]", "a message must be a JSON object"),
    ('{"no": "type"}', "unknown message type None"),
    ('{"type": "shout"}', "unknown message type 'shout'"),
    ('{"type": "text_input"}', "text_input needs a non-empty string"),
    ('{"type": "text_input", "text": "   "}', "text_input needs a non-empty string"),
    ('{"type": "navigation_command"}', "navigation_command needs a non-empty string"),
    ('{"type": "navigation_command", "action": "scroll", "params": [1]}', '"params" must be an object'),
    ('{"type": "audio_chunk", "data": "%%%", "sequence": 0}', "not valid base64"),
    ('{"type": "audio_chunk", "data": "AAAA"}', 'an integer "sequence"'),
    ('{"type": "audio_chunk", "data": "AA==", "sequence": 1}', "whole 16-bit samples"),
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
        assert reply["type"] == "error" and "binary frames are not accepted" in reply["message"]
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
        with pytest.raises(WebSocketDenialResponse) as denied, \
                client.websocket_connect(f"{API}/ws/{target}", headers=headers):
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
        with pytest.raises(WebSocketDisconnect) as closed:  # at once, without a frame from the client
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
        with pytest.raises(WebSocketDenialResponse) as denied, \
                client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}):
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
                assert json.loads(await ws.recv())["message"].startswith("Invalid JSON: ")
                await ws.send(json.dumps({"type": "audio_chunk", "data": "AAAAAA==", "sequence": 0, "is_final": True}))
                # a blip of silence is no utterance, yet the caller gets an answer (issue 14 item 2)
                heard = [json.loads(await ws.recv()) for _ in range(3)]
                assert [m["type"] for m in heard] == ["transcription", "response", "status"]
                assert heard[0]["text"] == "" and heard[1]["text"].startswith("Извините")
                assert heard[2]["status"] == "idle"
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await ws.recv()) == {"type": "pong"}
                await ws.ping()  # protocol-level ping/pong works too
            with pytest.raises(InvalidStatus) as denied:
                async with websockets.connect(body["websocket_url"]):
                    pass
            assert denied.value.response.status_code == 401
            assert json.loads(denied.value.response.body) == {"detail": "Unauthorized"}

        asyncio.run(talk())


def test_spoken_audio_chunks_get_transcription_and_response(client, voice_session, app):
    """audio_chunk frames (real speech, 20 ms of 16 kHz PCM each) → transcription → response."""
    import io
    import wave

    from adapters.providers.wer import word_error_rate

    sid = voice_session["session_id"]
    spoken = "Please show me the pricing page."
    with wave.open(io.BytesIO(speech_wav(app, spoken))) as w:
        pcm = w.readframes(w.getnframes())
    pcm += bytes(16000 * 2)  # one second of silence: the utterance ends by voice activity detection
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        ws.receive_json()
        for sequence, offset in enumerate(range(0, len(pcm), 640)):
            chunk = base64.b64encode(pcm[offset:offset + 640]).decode()
            ws.send_json({"type": "audio_chunk", "data": chunk, "sequence": sequence, "is_final": False})
        messages = []
        while not messages or messages[-1]["type"] != "response":
            messages.append(ws.receive_json())
    kinds = [m["type"] for m in messages]
    assert kinds[-2:] == ["transcription", "response"] and "status" in kinds
    transcription, response = messages[-2], messages[-1]
    assert transcription["is_final"] is True and word_error_rate(spoken, transcription["text"]) <= 0.2
    assert response["text"] and response["audio_url"].startswith(f"{API}/audio/")
    history = client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]
    assert any(item["type"] == "user" and item["content"].get("text") == transcription["text"] for item in history)


def test_audio_chunks_over_a_live_socket_and_the_reply_audio_says_the_reply(app, knowledge):
    """A client of the original API on a real socket: one utterance in 20 ms chunks closed by
    ``is_final`` (no trailing silence), then the reply's ``audio_url`` fetched over HTTP and
    transcribed back to the reply text."""
    import io
    import wave

    import anyio
    import httpx
    import websockets

    from adapters.providers import audio as codec
    from adapters.providers.wer import word_error_rate
    from adapters.providers.whisper import WhisperASR
    from core.clock import utcnow

    parking = "Parking is free for visitors in the car park behind the main building."
    anyio.run(app.bundles["vertebro-voice"].intents.add_knowledge, "demo", "Parking", "/visit", parking, utcnow())
    spoken = "Where can visitors park their car?"
    with wave.open(io.BytesIO(speech_wav(app, spoken))) as w:
        pcm = w.readframes(w.getnframes())
    with LiveServer(app) as server:
        body = httpx.post(f"{server.url}{API}/session/start", json={"project": "demo", "language": "en-US"},
                          auth=AUTH).json()

        async def talk() -> list[dict]:
            async with websockets.connect(body["websocket_url"], additional_headers={**BASIC}) as ws:
                assert json.loads(await ws.recv())["status"] == "ready"
                chunks = [pcm[offset:offset + 640] for offset in range(0, len(pcm), 640)]
                for sequence, chunk in enumerate(chunks):
                    await ws.send(json.dumps({"type": "audio_chunk", "data": base64.b64encode(chunk).decode(),
                                              "sequence": sequence, "is_final": sequence == len(chunks) - 1}))
                messages: list[dict] = []
                while not messages or messages[-1]["type"] != "response":
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
                return messages

        messages = asyncio.run(talk())
        transcription, response = messages[-2], messages[-1]
        assert transcription["type"] == "transcription" and transcription["is_final"] is True
        assert word_error_rate(spoken, transcription["text"]) <= 0.2, transcription
        assert response["text"] == parking
        audio = httpx.get(f"{server.url}{response['audio_url']}", auth=AUTH)
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    heard = anyio.run(WhisperASR().transcribe, codec.decode(audio.content, sample_rate=16000), "en", False)
    assert word_error_rate(response["text"], heard.text) <= 0.2, (response["text"], heard.text)
