"""Hostile request bodies over real HTTP (uvicorn on loopback): always a 4xx in the API's envelope.

Each case reproduces a failure found by attacking ``make serve``: deep nesting (RecursionError →
500), lone surrogates and out-of-range numbers (5xx, or ``Infinity`` stored and later emitted),
and chunked bodies without ``Content-Length`` (400 "RequestBody is required").
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import websockets

from handlers.vertebro_voice.security import hash_password
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
BASIC_USER, BASIC_PASSWORD = "guard", "guard-password"


@pytest.fixture
def settings(make_settings):
    return make_settings(vertebro_basic_users={BASIC_USER: hash_password(BASIC_PASSWORD)},
                         vertebro_admin_users=[BASIC_USER])  # may use any Vertebro project


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, timeout=20) as c:
        yield c


def _virstack_token(http: httpx.Client) -> str:
    r = http.post("/v1/users/register", json={"email": "guard@example.com", "password": "guard-password-1",
                                                "organization_name": "Guard", "first_name": "G", "last_name": "D"})
    assert r.status_code == 201, r.text
    r = http.post("/v1/users/login", json={"email": "guard@example.com", "password": "guard-password-1"})
    return r.json()["data"]["token"]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b"[" * 65 + b"]" * 65])
def test_deep_nesting_is_400_unauthenticated(http, body):
    r = http.post("/v1/users/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False and r.json()["code"] == 400 and "nesting" in r.json()["error"]


def test_deep_nesting_is_400_in_each_envelope(http, vb_auth):
    r = http.post("/v1/sessions", content=DEEP, headers={**vb_auth(), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = http.post("/api/v1/voice/dialog/intent", content=DEEP, auth=(BASIC_USER, BASIC_PASSWORD),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


@pytest.mark.parametrize("raw", [b'"x\\ud800y"', b'"\\udfff"', b'"a\\ud83d"'])
def test_lone_surrogate_is_400(http, vb_auth, raw):
    body = b'{"session_id": ' + raw + b"}"
    r = http.post("/v1/voice/sessions", content=body, headers={**vb_auth(), "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "surrogate" in r.json()["error"]["message"]


def test_paired_surrogates_are_accepted(http, vb_auth):
    r = http.post("/v1/voice/sessions", content=b'{"session_id": "\\ud83d\\ude00"}',
                  headers={**vb_auth(), "Content-Type": "application/json"})
    assert r.status_code == 404, r.text  # a valid emoji: no such session, not a body error


@pytest.mark.parametrize("number", [b"1e309", b"-1e400", b"1" + b"0" * 400, b"NaN", b"Infinity"])
def test_non_finite_numbers_are_400_and_never_stored(http, number):
    token = _virstack_token(http)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    valid = json.dumps({"agent_settings": AGENT_SETTINGS}).encode()
    assert b'"speed": 1,' in valid
    assert http.post("/v1/agent", content=valid, headers=auth).status_code == 201  # the control
    r = http.post("/v1/agent", content=valid.replace(b'"speed": 1,', b'"speed": ' + number + b","), headers=auth)
    assert r.status_code == 400, r.text
    listing = http.get("/v1/agent/list", headers=auth)
    assert listing.status_code == 200 and len(listing.json()["data"]) == 1
    json.loads(listing.text, parse_constant=lambda c: pytest.fail(f"{c} emitted"))


def test_chunked_json_body_is_read(http):
    def pieces():
        yield b'{"email": "nobody@example.com", '
        yield b'"password": "wrong-password"}'

    r = http.post("/v1/users/login", content=pieces(), headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 401, r.text  # the body arrived: wrong credentials, not "RequestBody is required"


def test_chunked_multipart_body_is_read(http):
    boundary = "guardboundary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"project\"\r\n\r\ndemo\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.wav\"\r\n"
               f"Content-Type: audio/wav\r\n\r\n").encode() + b"not audio" + f"\r\n--{boundary}--\r\n".encode()

    def pieces():
        for i in range(0, len(payload), 7):
            yield payload[i:i + 7]

    r = http.post("/api/v1/voice/samples", content=pieces(), auth=(BASIC_USER, BASIC_PASSWORD),
                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 415, r.text  # parsed and decoded: the bytes are not audio


def test_chunked_body_still_stops_at_the_limit(make_settings):
    from gateway.app import create_app
    from tests.conftest import LiveServer

    with LiveServer(create_app(make_settings(max_body_bytes=1024))) as server:
        def pieces():
            for _ in range(64):
                yield b" " * 64

        r = httpx.post(f"{server.url}/v1/users/login", content=pieces(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == 413


async def test_vertebro_socket_survives_hostile_frames(live_server):
    credentials = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        r = await http.post("/api/v1/voice/session/start", json={"project": "demo", "language": "en-US"},
                            headers=headers)
        session_id = r.json()["session_id"]
    url = live_server.url.replace("http", "ws") + f"/api/v1/voice/ws/{session_id}"
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["status"] == "ready"
        for frame in (DEEP.decode(), '{"type": "text_input", "text": "x\\ud800"}', '{"type": "ping", "n": 1e309}'):
            await ws.send(frame)
            reply = json.loads(await ws.recv())
            assert reply["type"] == "error", reply
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
