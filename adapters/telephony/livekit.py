"""The LiveKit telephony backend: drives a LiveKit server (``LIVEKIT_URL``) through the
official ``livekit-api`` package (Twirp over HTTP: RoomService, SIP).

Ownership of trunks and rules stays in the database (LiveKit's trunks are project-wide);
conflicts are checked there first, so a conflicting trunk/rule never reaches the server.
A rule created with no trunk ids would capture the calls of every organization of the
LiveKit project, so it is created for the organization's inbound trunks instead.

Try it against a local server: ``livekit-server --dev`` (key ``devkey``, secret ``secret``)
and ``TELEPHONY_BACKEND=livekit LIVEKIT_URL=ws://localhost:7880 LIVEKIT_API_KEY=devkey
LIVEKIT_API_SECRET=secret``; SIP operations also need the ``livekit-sip`` service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
from livekit import api

from adapters.storage.virstack_voiceai.sip import RuleRecord, SipStore, TrunkRecord
from adapters.telephony.base import (
    AgentDispatch,
    RoomInfo,
    SignedBackend,
    SipParticipantInfo,
    TelephonyConflict,
    TelephonyError,
    TelephonyRejected,
)
from core.clock import utcnow

# Twirp error codes LiveKit answers for a request it refuses (rather than fails on).
_REJECTED = {"invalid_argument", "malformed", "out_of_range", "failed_precondition", "permission_denied",
             "unauthenticated"}


class LiveKitTelephony(SignedBackend):
    backend = "livekit"

    def __init__(self, sip: SipStore, *, url: str, api_key: str, api_secret: str, timeout: float = 10.0,
                 client_factory: Callable[[], api.LiveKitAPI] | None = None) -> None:
        super().__init__(sip, url=url, api_key=api_key, api_secret=api_secret)
        self._timeout = timeout
        self._client_factory = client_factory

    def _client(self) -> api.LiveKitAPI:
        if self._client_factory is not None:
            return self._client_factory()
        return api.LiveKitAPI(self.url, self.api_key, self._api_secret, failover=False,
                              timeout=aiohttp.ClientTimeout(total=self._timeout))

    async def _call(self, fn: Callable[[api.LiveKitAPI], Any]) -> Any:
        """Run one request with a fresh client; map transport and server errors."""
        try:
            async with self._client() as lk:
                return await fn(lk)
        except api.ServerError as exc:
            raise self._mapped(exc.code, exc.message) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TelephonyError(f"LiveKit server at {self.url} is unreachable: {exc}") from None

    @staticmethod
    def _mapped(code: str, message: str) -> TelephonyError:
        if "conflict" in (message or "").lower():
            return TelephonyConflict(message)
        if code in _REJECTED:
            return TelephonyRejected(f"LiveKit refused the request ({code}): {message}")
        return TelephonyError(f"LiveKit error {code}: {message}")

    async def create_room(self, name: str, *, metadata: str, dispatch: AgentDispatch | None,
                          empty_timeout: int) -> RoomInfo:
        request = api.CreateRoomRequest(name=name, metadata=metadata, empty_timeout=empty_timeout,
                                        agents=[dispatch.proto()] if dispatch else [])
        room = await self._call(lambda lk: lk.room.create_room(request))
        return RoomInfo(room.name, room.sid, room.metadata, room.num_participants)

    async def delete_room(self, name: str) -> bool:
        try:
            await self._call(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=name)))
        except TelephonyError as exc:
            if "not_found" in str(exc) or "not found" in str(exc).lower():
                return False
            raise
        return True

    async def create_inbound_trunk(self, org_id: str, *, name: str, numbers: list[str], auth_username: str | None,
                                   auth_password: str | None) -> TrunkRecord:
        await self.sip.check_inbound_trunk(org_id, numbers)
        info = api.SIPInboundTrunkInfo(name=name, numbers=numbers, auth_username=auth_username or "",
                                       auth_password=auth_password or "", metadata=json.dumps({"org_id": org_id}))
        trunk = await self._call(lambda lk: lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=info)))
        return await self.sip.add_trunk(trunk_id=trunk.sip_trunk_id, org_id=org_id, kind="inbound", name=name,
                                        numbers=list(trunk.numbers), address=None, auth_username=auth_username,
                                        auth_password=auth_password, now=utcnow())

    async def create_outbound_trunk(self, org_id: str, *, name: str, address: str, numbers: list[str],
                                    auth_username: str | None, auth_password: str | None) -> TrunkRecord:
        info = api.SIPOutboundTrunkInfo(name=name, address=address, numbers=numbers,
                                        auth_username=auth_username or "", auth_password=auth_password or "",
                                        metadata=json.dumps({"org_id": org_id}))
        trunk = await self._call(
            lambda lk: lk.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=info)))
        return await self.sip.add_trunk(trunk_id=trunk.sip_trunk_id, org_id=org_id, kind="outbound", name=name,
                                        numbers=list(trunk.numbers), address=address, auth_username=auth_username,
                                        auth_password=auth_password, now=utcnow())

    async def delete_trunk(self, org_id: str, trunk_id: str) -> bool:
        if await self.sip.get_trunk(org_id, trunk_id) is None:
            return False
        try:
            await self._call(lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)))
        except TelephonyError as exc:
            if "not_found" not in str(exc):
                raise
        return await self.sip.delete_trunk(org_id, trunk_id)

    async def add_trunk_number(self, org_id: str, trunk_id: str, number: str) -> TrunkRecord | None:
        trunk = await self.sip.get_trunk(org_id, trunk_id)
        if trunk is None or trunk.kind != "inbound":
            return None
        if number in trunk.numbers or not trunk.numbers:
            return trunk
        await self.sip.check_inbound_trunk(org_id, [number])
        await self._call(lambda lk: lk.sip.update_inbound_trunk_fields(
            trunk_id, numbers=api.ListUpdate(add=[number])))
        return await self.sip.add_trunk_number(org_id, trunk_id, number)

    async def create_dispatch_rule(self, org_id: str, *, name: str, trunk_ids: list[str], room_prefix: str,
                                   metadata: dict[str, Any], dispatch: AgentDispatch | None) -> RuleRecord:
        await self.sip.check_rule(org_id, trunk_ids)
        scoped = trunk_ids or [t.trunk_id for t in await self.sip.list_trunks(org_id, "inbound")]
        if not scoped:
            raise TelephonyRejected("create an inbound SIP trunk first: with LiveKit a rule without trunks would "
                                    "receive the calls of every organization")
        info = api.SIPDispatchRuleInfo(
            name=name, trunk_ids=scoped, metadata=json.dumps(metadata),
            rule=api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=room_prefix)),
            room_config=api.RoomConfiguration(agents=[dispatch.proto()]) if dispatch else None,
        )
        rule = await self._call(lambda lk: lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=info)))
        return await self.sip.add_rule(rule_id=rule.sip_dispatch_rule_id, org_id=org_id, name=name,
                                       trunk_ids=trunk_ids, room_prefix=room_prefix, metadata=metadata,
                                       agent_name=dispatch.agent_name if dispatch else None, now=utcnow())

    async def delete_dispatch_rule(self, org_id: str, rule_id: str) -> bool:
        if await self.sip.get_rule(org_id, rule_id) is None:
            return False
        try:
            await self._call(lambda lk: lk.sip.delete_dispatch_rule(
                api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)))
        except TelephonyError as exc:
            if "not_found" not in str(exc):
                raise
        return await self.sip.delete_rule(org_id, rule_id)

    async def create_sip_participant(self, *, room_name: str, trunk_id: str, to_number: str, from_number: str,
                                     identity: str, name: str, metadata: str,
                                     attributes: dict[str, str]) -> SipParticipantInfo:
        request = api.CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id, sip_call_to=to_number, sip_number=from_number, room_name=room_name,
            participant_identity=identity, participant_name=name, participant_metadata=metadata,
            participant_attributes=attributes, wait_until_answered=False)
        info = await self._call(lambda lk: lk.sip.create_sip_participant(request))
        return SipParticipantInfo(info.participant_id, info.participant_identity, info.room_name, info.sip_call_id)

    async def close(self) -> None:
        return None
