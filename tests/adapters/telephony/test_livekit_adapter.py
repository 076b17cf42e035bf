"""The LiveKit backend at the level of the Twirp requests it builds and the responses it parses.

A fake LiveKit server (aiohttp, loopback) decodes each protobuf request with livekit's own
message classes, checks the admin token livekit-api signs, records the request and answers
like LiveKit (protobuf on success, Twirp JSON errors otherwise).
"""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from livekit import api

from adapters.secretbox import SecretBox
from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.accounts import AccountStore
from adapters.storage.virstack_voiceai.sip import SipStore
from adapters.telephony.base import AgentDispatch, TelephonyConflict, TelephonyError, TelephonyRejected
from adapters.telephony.livekit import LiveKitTelephony
from core.clock import utcnow

KEY, SECRET = "APIfake", "fake-livekit-secret-0123456789-0123456789"
REQUESTS = {
    "RoomService/CreateRoom": (api.CreateRoomRequest, lambda r: api.Room(sid="RM_fake", name=r.name,
                                                                          metadata=r.metadata)),
    "RoomService/DeleteRoom": (api.DeleteRoomRequest, lambda r: api.DeleteRoomResponse()),
    "SIP/CreateSIPInboundTrunk": (api.CreateSIPInboundTrunkRequest,
                                  lambda r: api.SIPInboundTrunkInfo(sip_trunk_id="ST_in1", name=r.trunk.name,
                                                                    numbers=r.trunk.numbers)),
    "SIP/CreateSIPOutboundTrunk": (api.CreateSIPOutboundTrunkRequest,
                                   lambda r: api.SIPOutboundTrunkInfo(sip_trunk_id="ST_out1", name=r.trunk.name,
                                                                      numbers=r.trunk.numbers,
                                                                      address=r.trunk.address)),
    "SIP/UpdateSIPInboundTrunk": (api.UpdateSIPInboundTrunkRequest,
                                  lambda r: api.SIPInboundTrunkInfo(sip_trunk_id=r.sip_trunk_id)),
    "SIP/DeleteSIPTrunk": (api.DeleteSIPTrunkRequest, lambda r: api.SIPTrunkInfo(sip_trunk_id=r.sip_trunk_id)),
    "SIP/CreateSIPDispatchRule": (api.CreateSIPDispatchRuleRequest,
                                  lambda r: api.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_fake1",
                                                                    name=r.dispatch_rule.name)),
    "SIP/DeleteSIPDispatchRule": (api.DeleteSIPDispatchRuleRequest,
                                  lambda r: api.SIPDispatchRuleInfo(sip_dispatch_rule_id=r.sip_dispatch_rule_id)),
    "SIP/CreateSIPParticipant": (api.CreateSIPParticipantRequest,
                                 lambda r: api.SIPParticipantInfo(participant_id="PA_fake",
                                                                  participant_identity=r.participant_identity,
                                                                  room_name=r.room_name, sip_call_id="SCL_fake")),
}


class FakeLiveKit:
    def __init__(self) -> None:
        self.seen: list[tuple[str, object, api.Claims]] = []
        self.fail: dict[str, tuple[int, str, str]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["service"].removeprefix("livekit.") + "/" + request.match_info["method"]
        assert request.headers["Content-Type"] == "application/protobuf"
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = api.TokenVerifier(KEY, SECRET).verify(token)
        message_cls, answer = REQUESTS[method]
        message = message_cls.FromString(await request.read())
        self.seen.append((method, message, claims))
        if method in self.fail:
            status, code, msg = self.fail[method]
            return web.json_response({"code": code, "msg": msg}, status=status)
        return web.Response(body=answer(message).SerializeToString(), content_type="application/protobuf")


@pytest.fixture
async def livekit(tmp_path, unused_tcp_port_factory=None):
    fake = FakeLiveKit()
    app = web.Application()
    app.router.add_post("/twirp/{service}/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    db = Database(f"sqlite:///{tmp_path / 'lk.db'}")
    db.migrate()
    org, _ = await AccountStore(db).register(organization_name="Org", first_name="a", last_name="b",
                                             email="a@b.example", password="password1", now=utcnow())
    sip = SipStore(db, SecretBox("k"))
    backend = LiveKitTelephony(sip, url=f"ws://127.0.0.1:{port}", api_key=KEY, api_secret=SECRET, timeout=5)
    yield fake, backend, org.org_id, sip
    await runner.cleanup()
    db.dispose()


async def test_room_create_and_delete(livekit):
    fake, backend, _, _ = livekit
    dispatch = AgentDispatch("agent-server-abc", {"call_id": "c1"})
    room = await backend.create_room("call-1", metadata='{"a": 1}', dispatch=dispatch, empty_timeout=120)
    assert (room.name, room.sid) == ("call-1", "RM_fake")
    method, request, claims = fake.seen[-1]
    assert method == "RoomService/CreateRoom" and claims.video.room_create is True
    assert (request.name, request.empty_timeout, request.metadata) == ("call-1", 120, '{"a": 1}')
    assert request.agents[0].agent_name == "agent-server-abc" and json.loads(request.agents[0].metadata) == {
        "call_id": "c1"}
    assert await backend.delete_room("call-1") is True
    assert fake.seen[-1][1].room == "call-1"
    fake.fail["RoomService/DeleteRoom"] = (404, "not_found", "room not found")
    assert await backend.delete_room("gone") is False


async def test_trunks_rules_and_outbound_participant(livekit):
    fake, backend, org_id, sip = livekit
    trunk = await backend.create_inbound_trunk(org_id, name="Main", numbers=["+14155551234"],
                                               auth_username="user", auth_password="pw")
    method, request, claims = fake.seen[-1]
    assert method == "SIP/CreateSIPInboundTrunk" and claims.sip.admin is True
    assert list(request.trunk.numbers) == ["+14155551234"] and request.trunk.auth_password == "pw"
    assert trunk.trunk_id == "ST_in1" and (await sip.get_trunk(org_id, "ST_in1")).numbers == ["+14155551234"]

    await backend.add_trunk_number(org_id, "ST_in1", "+14155550000")
    method, request, _ = fake.seen[-1]
    assert method == "SIP/UpdateSIPInboundTrunk" and list(request.update.numbers.add) == ["+14155550000"]

    rule = await backend.create_dispatch_rule(org_id, name="r", trunk_ids=[], room_prefix="in-",
                                              metadata={"k": "v"}, dispatch=AgentDispatch("agent-server-abc", {}))
    method, request, _ = fake.seen[-1]
    info = request.dispatch_rule
    assert method == "SIP/CreateSIPDispatchRule" and rule.rule_id == "SDR_fake1"
    assert list(info.trunk_ids) == ["ST_in1"]  # scoped to the organization's trunks, never project-wide
    assert info.rule.dispatch_rule_individual.room_prefix == "in-"
    assert info.room_config.agents[0].agent_name == "agent-server-abc" and json.loads(info.metadata) == {"k": "v"}

    out = await backend.create_outbound_trunk(org_id, name="pbx", address="pbx.example.com",
                                              numbers=["+14155550000"], auth_username=None, auth_password=None)
    assert fake.seen[-1][1].trunk.address == "pbx.example.com" and out.kind == "outbound"
    participant = await backend.create_sip_participant(room_name="call-2", trunk_id="ST_out1",
                                                       to_number="+14155559876", from_number="+14155550000",
                                                       identity="sip_+14155559876", name="Phone", metadata="{}",
                                                       attributes={"virstack.call_id": "c2"})
    method, request, claims = fake.seen[-1]
    assert method == "SIP/CreateSIPParticipant" and claims.sip.call is True
    assert (request.sip_trunk_id, request.sip_call_to, request.sip_number, request.room_name) == (
        "ST_out1", "+14155559876", "+14155550000", "call-2")
    assert request.participant_attributes["virstack.call_id"] == "c2"
    assert (participant.participant_id, participant.sip_call_id) == ("PA_fake", "SCL_fake")

    assert await backend.delete_dispatch_rule(org_id, "SDR_fake1") is True
    assert fake.seen[-1][1].sip_dispatch_rule_id == "SDR_fake1"
    assert await backend.delete_trunk(org_id, "ST_in1") is True
    assert fake.seen[-1][1].sip_trunk_id == "ST_in1" and await sip.get_trunk(org_id, "ST_in1") is None
    assert await backend.delete_trunk("another-org", "ST_out1") is False


async def test_errors_are_mapped(livekit):
    fake, backend, org_id, sip = livekit
    fake.fail["SIP/CreateSIPInboundTrunk"] = (400, "invalid_argument", "Conflicting inbound SIP Trunks")
    with pytest.raises(TelephonyConflict):
        await backend.create_inbound_trunk(org_id, name="x", numbers=["+1"], auth_username=None, auth_password=None)
    fake.fail["SIP/CreateSIPInboundTrunk"] = (400, "invalid_argument", "bad number")
    with pytest.raises(TelephonyRejected):
        await backend.create_inbound_trunk(org_id, name="x", numbers=["+1"], auth_username=None, auth_password=None)
    assert await sip.list_trunks(org_id) == []  # nothing recorded for refused trunks
    fake.fail["RoomService/CreateRoom"] = (503, "unavailable", "down")
    with pytest.raises(TelephonyError):
        await backend.create_room("r", metadata="", dispatch=None, empty_timeout=1)
    unreachable = LiveKitTelephony(sip, url="http://127.0.0.1:9", api_key=KEY, api_secret=SECRET, timeout=2)
    with pytest.raises(TelephonyError) as exc:
        await unreachable.create_room("r", metadata="", dispatch=None, empty_timeout=1)
    assert "unreachable" in str(exc.value)
