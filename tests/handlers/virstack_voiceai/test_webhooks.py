"""LiveKit webhooks signed by livekit-api's own code; transcripts from a SessionReport; analysis."""

from __future__ import annotations

import base64
import hashlib
import json

from livekit import api
from sqlalchemy import text

from tests.handlers.virstack_voiceai.conftest import LIVEKIT_KEY, LIVEKIT_SECRET


def livekit_signed(body: bytes, key: str = LIVEKIT_KEY, secret: str = LIVEKIT_SECRET) -> str:
    """What a LiveKit server sends: a raw JWT whose sha256 claim is the body's digest."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(key, secret).with_sha256(digest).to_jwt()


def event(name: str, room: str, event_id: str, **extra) -> bytes:
    return json.dumps({"event": name, "id": event_id, "createdAt": "1735000000",
                       "room": {"sid": "RM_test", "name": room}, **extra}).encode()


def send(client, body: bytes, authorization: str, content_type: str = "application/webhook+json"):
    return client.post("/v1/webhooks/livekit", content=body,
                       headers={"Authorization": authorization, "Content-Type": content_type})


def stored_events(app) -> int:
    with app.services.db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM vs_webhook_event")).scalar_one()


def test_livekit_signature_moves_the_call_through_its_states(client, app, org, make_agent):
    agent = make_agent(org)
    call = org.post("/v1/call/web", json={"agent_id": agent["agent_id"], "participant_identity": "caller-1"}).json()
    room = call["data"]["room_name"]
    url = f"/v1/call/{call['data']['call_id']}"
    started = event("room_started", room, "EV_1")
    r = send(client, started, livekit_signed(started))
    assert r.status_code == 200 and r.json()["data"] == {"received": True, "event_type": "room_started",
                                                         "processed": True, "event_id": "EV_1"}
    agent_joined = event("participant_joined", room, "EV_2", participant={"identity": "agent-x", "kind": "AGENT"})
    assert send(client, agent_joined, livekit_signed(agent_joined)).status_code == 200
    assert org.get(url).json()["data"]["status"] == "initiated"  # the agent is not the caller
    joined = event("participant_joined", room, "EV_3", participant={"identity": "caller-1", "kind": "STANDARD"})
    assert send(client, joined, "Bearer " + livekit_signed(joined)).status_code == 200  # Bearer form accepted too
    in_progress = org.get(url).json()["data"]
    assert in_progress["status"] == "in_progress" and in_progress["start_timestamp"]
    finished = event("room_finished", room, "EV_4")
    assert send(client, finished, livekit_signed(finished), "application/json").status_code == 200
    ended = org.get(url).json()["data"]
    assert ended["status"] == "ended" and ended["disconnection_reason"] == "room_finished"
    replay = send(client, joined, livekit_signed(joined))
    assert replay.status_code == 200 and replay.json()["data"]["processed"] is False
    assert org.get(url).json()["data"]["status"] == "ended"  # a replay cannot resurrect the call
    assert stored_events(app) == 4


def test_tampered_body_wrong_secret_or_no_signature_give_401_and_store_nothing(client, app):
    body = event("room_started", "call-x", "EV_9")
    good = livekit_signed(body)
    tampered = body.replace(b"call-x", b"call-y")
    cases = [
        (tampered, good),
        (body, livekit_signed(body, secret="wrong-secret-0123456789-0123456789-0123")),
        (body, livekit_signed(body, key="APIanotherkey")),
        (body, api.AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET).to_jwt()),  # no sha256 claim
        (body, "Bearer vk-00000000000000000000000000000000"),
    ]
    for payload, authorization in cases:
        r = send(client, payload, authorization)
        assert r.status_code == 401, (authorization, r.text)
        assert r.json() == {"success": False, "code": 401, "error": r.json()["error"], "data": None}
    assert client.post("/v1/webhooks/livekit", content=body,
                       headers={"Content-Type": "application/webhook+json"}).status_code == 401
    assert stored_events(app) == 0
    assert send(client, body, good).status_code == 200 and stored_events(app) == 1


def test_signed_garbage_is_400(client, app):
    body = json.dumps({"no": "event"}).encode()
    assert send(client, body, livekit_signed(body)).status_code == 400
    assert stored_events(app) == 0


SESSION_REPORT = {
    "job_id": "AJ_1", "room_id": "RM_1", "room": "", "events": [],
    "chat_history": {"items": [
        {"id": "item_0", "type": "message", "role": "system", "content": ["You are a support agent."]},
        {"id": "item_1", "type": "message", "role": "assistant", "content": ["Hello! How can I help you today?"],
         "created_at": 1735000000.5, "interrupted": False},
        {"id": "item_2", "type": "message", "role": "user",
         "content": ["Hi, where is my order 48213? I would like a refund."], "created_at": 1735000004.1},
        {"id": "item_3", "type": "function_call", "call_id": "call_a", "name": "order_status",
         "arguments": "{\"order_id\": \"48213\"}"},
        {"id": "item_4", "type": "function_call_output", "call_id": "call_a", "name": "order_status",
         "output": "shipped yesterday", "is_error": False},
        {"id": "item_5", "type": "message", "role": "assistant",
         "content": ["Your order 48213 shipped yesterday."], "created_at": 1735000009.0},
    ]},
}


def test_transcript_and_analysis(org, make_agent, other_org):
    agent = make_agent(org)
    call = org.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
    room = call["room_name"]
    assert other_org.post(f"/v1/call/{room}/transcript", json=SESSION_REPORT).status_code == 404
    r = org.post(f"/v1/call/{room}/transcript", json={**SESSION_REPORT, "room": room})
    assert r.status_code == 200 and r.json()["data"]["utterances"] == 3 and r.json()["data"]["tool_calls"] == 1
    transcripts = org.get(f"/v1/call/{call['call_id']}").json()["data"]["transcripts"]
    assert transcripts["transcript"] == ("Agent: Hello! How can I help you today?\n"
                                         "User: Hi, where is my order 48213? I would like a refund.\n"
                                         "Agent: Your order 48213 shipped yesterday.")
    assert [t["role"] for t in transcripts["transcript_object"]] == ["agent", "user", "agent"]
    assert [t["role"] for t in transcripts["transcript_with_tool_calls"]] == [
        "agent", "user", "tool_call_invocation", "tool_call_result", "agent"]
    assert transcripts["transcript_with_tool_calls"][2]["arguments"] == {"order_id": "48213"}
    assert transcripts["transcript_with_tool_calls"][3]["successful"] is True
    assert org.post("/v1/call/no-such-room/transcript", json=SESSION_REPORT).status_code == 404

    analysed = org.post(f"/v1/call/{call['call_id']}/analyze")
    assert analysed.status_code == 200, analysed.text
    analysis = analysed.json()["data"]["call_analysis"]
    assert set(analysis["custom_analysis_data"]) == {"order_id", "refund_requested"}
    assert analysis["custom_analysis_data"]["order_id"] == "48213"
    assert analysis["custom_analysis_data"]["refund_requested"] is True
    assert analysis["user_sentiment"] in ("Positive", "Neutral", "Negative", "Unknown")
    assert analysis["transcript_available"] is True and analysis["call_summary"]
    assert org.get(f"/v1/call/{call['call_id']}").json()["data"]["call_analysis"] == analysis


def test_inbound_sip_caller_creates_the_inbound_call(client, org, make_agent):
    agent = make_agent(org)
    trunk = org.post("/v1/sip/trunks", json={"numbers": ["+14155551234"]}).json()["data"]
    rule = org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk["trunk_id"]],
                                                    "room_prefix": "inbound-"}).json()["data"]
    org.post("/v1/sip/phone-numbers", json={"number": "+14155551234", "trunk_id": trunk["trunk_id"],
                                            "dispatch_rule_id": rule["dispatch_rule_id"],
                                            "inbound_agent_id": agent["agent_id"]})
    room = "inbound-_+15105550000_AbCdEf"
    joined = event("participant_joined", room, "EV_in1", participant={
        "identity": "sip_+15105550000", "kind": "SIP",
        "attributes": {"sip.phoneNumber": "+15105550000", "sip.trunkPhoneNumber": "+14155551234",
                       "sip.trunkID": trunk["trunk_id"]}})
    assert send(client, joined, livekit_signed(joined)).status_code == 200
    calls = org.post("/v1/call/list", json={"filters": {"direction": "inbound", "channel": "sip"}}).json()["data"]
    assert len(calls) == 1
    call = calls[0]
    assert (call["agent_id"], call["room_name"], call["status"]) == (agent["agent_id"], room, "in_progress")
    assert call["telephony"] == {"from_number": "+15105550000", "to_number": "+14155551234"}
    left = event("participant_left", room, "EV_in2", participant={"identity": "sip_+15105550000", "kind": "SIP"})
    send(client, left, livekit_signed(left))
    ended = org.get(f"/v1/call/{call['call_id']}").json()["data"]
    assert ended["status"] == "ended" and ended["disconnection_reason"] == "user_hangup"


def test_egress_ended_attaches_the_recording(client, org, make_agent):
    agent = make_agent(org)
    call = org.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
    body = json.dumps({"event": "egress_ended", "id": "EV_eg", "createdAt": "1735000100",
                       "egressInfo": {"egressId": "EG_1", "roomName": call["room_name"], "status": "EGRESS_COMPLETE",
                                      "fileResults": [{"filename": "call.ogg",
                                                       "location": "https://recordings.example/call.ogg"}]}}).encode()
    assert send(client, body, livekit_signed(body)).status_code == 200
    data = org.get(f"/v1/call/{call['call_id']}").json()["data"]
    assert data["recordings"] == {"recording_url": "https://recordings.example/call.ogg"}
    assert data["recording_files"] == [{"egress_id": "EG_1", "location": "https://recordings.example/call.ogg"}]


def test_fields_longer_than_their_columns_are_400_and_store_nothing(client, app):
    before = stored_events(app)
    for body in (event("room_started", "r" * 513, "EV_long_room"),
                 event("room_started", "call-1", "E" * 129),
                 event("participant_joined", "call-1", "EV_long_call_id", participant={
                     "identity": "sip_+15105550000", "kind": "SIP", "attributes": {"sip.callID": "c" * 257}})):
        answered = send(client, body, livekit_signed(body))
        assert answered.status_code == 400 and "longer than" in answered.json()["error"], answered.text
    assert stored_events(app) == before
