"""TELEPHONY_BACKEND=livekit through the HTTP API: web call, phone import, outbound call and end
drive a (fake) LiveKit server over Twirp; the tokens returned verify with livekit-api."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from livekit import api
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.adapters.telephony.test_livekit_adapter import REQUESTS
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS, register

KEY, SECRET = "APIbackend", "backend-livekit-secret-0123456789-0123456789"


class Twirp(BaseHTTPRequestHandler):
    seen: list[tuple[str, object]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        service, method = self.path.split("/")[-2:]
        name = service.removeprefix("livekit.") + "/" + method
        api.TokenVerifier(KEY, SECRET).verify(self.headers["Authorization"].removeprefix("Bearer "))
        message_cls, answer = REQUESTS[name]
        message = message_cls.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        Twirp.seen.append((name, message))
        body = answer(message).SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def livekit_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Twirp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Twirp.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_calls_drive_the_livekit_server(make_settings, livekit_server):
    settings = make_settings(telephony_backend="livekit", livekit_url=livekit_server, livekit_api_key=KEY,
                             livekit_api_secret=SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        org = register(client)
        agent = org.post("/v1/agent", json={"agent_settings": AGENT_SETTINGS}).json()["data"]
        web = org.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
        name, request = Twirp.seen[-1]
        assert name == "RoomService/CreateRoom" and request.name == web["room_name"]
        assert request.agents[0].agent_name.startswith("agent-server-")
        assert web["livekit_url"] == livekit_server
        assert api.TokenVerifier(KEY, SECRET).verify(web["room_token"]).video.room == web["room_name"]

        number = org.post("/v1/sip/phone-numbers/import", json={"phone_number": "+14155550100",
                                                                "termination_uri": "pbx.example.com",
                                                                "inbound_agent_id": agent["agent_id"]})
        assert number.status_code == 201, number.text
        assert [n for n, _ in Twirp.seen[-3:]] == ["SIP/CreateSIPInboundTrunk", "SIP/CreateSIPOutboundTrunk",
                                                   "SIP/CreateSIPDispatchRule"]
        phone = org.post("/v1/call/phone", json={"from_number": "+14155550100", "to_number": "+14155559876"})
        assert phone.status_code == 201 and phone.json()["data"]["status"] == "ringing"
        name, request = Twirp.seen[-1]
        assert name == "SIP/CreateSIPParticipant" and request.sip_trunk_id == "ST_out1"
        assert request.sip_call_to == "+14155559876" and request.room_name == phone.json()["data"]["room_name"]

        assert org.post(f"/v1/call/{web['call_id']}/end").status_code == 200
        name, request = Twirp.seen[-1]
        assert name == "RoomService/DeleteRoom" and request.room == web["room_name"]
