"""The embedded telephony backend: the control plane of a LiveKit deployment kept in the database.

Rooms, SIP trunks, dispatch rules and phone numbers are rows (adapters/storage/virstack_voiceai/sip.py);
inbound calls are routed with LiveKit's own semantics (:func:`adapters.sip.routing.
route_inbound_call`). There is no media server in this process: participants join the room at
``LIVEKIT_URL`` with the tokens minted here (signed with the same key/secret a ``livekit-server``
would be configured with), and that server's webhooks drive the call state.
"""

from __future__ import annotations

from typing import Any

from adapters.sip.routing import InboundCall, Route, route_inbound_call
from adapters.storage.virstack_voiceai.sip import PhoneNumberRecord, RuleRecord, TrunkRecord, livekit_id
from adapters.telephony.base import AgentDispatch, RoomInfo, SignedBackend, SipParticipantInfo, TelephonyRejected
from core.clock import utcnow


class EmbeddedTelephony(SignedBackend):
    backend = "embedded"

    async def create_room(self, name: str, *, metadata: str, dispatch: AgentDispatch | None,
                          empty_timeout: int) -> RoomInfo:
        room = await self.sip.create_room(name=name, metadata=metadata,
                                          agent_name=dispatch.agent_name if dispatch else None,
                                          empty_timeout=empty_timeout, now=utcnow())
        return RoomInfo(room.name, room.sid, room.metadata, len(room.participants))

    async def delete_room(self, name: str) -> bool:
        return await self.sip.delete_room(name, utcnow())

    async def create_inbound_trunk(self, org_id: str, *, name: str, numbers: list[str], auth_username: str | None,
                                   auth_password: str | None) -> TrunkRecord:
        return await self.sip.add_trunk(trunk_id=livekit_id("ST_"), org_id=org_id, kind="inbound", name=name,
                                        numbers=numbers, address=None, auth_username=auth_username,
                                        auth_password=auth_password, now=utcnow())

    async def create_outbound_trunk(self, org_id: str, *, name: str, address: str, numbers: list[str],
                                    auth_username: str | None, auth_password: str | None) -> TrunkRecord:
        return await self.sip.add_trunk(trunk_id=livekit_id("ST_"), org_id=org_id, kind="outbound", name=name,
                                        numbers=numbers, address=address, auth_username=auth_username,
                                        auth_password=auth_password, now=utcnow())

    async def delete_trunk(self, org_id: str, trunk_id: str) -> bool:
        return await self.sip.delete_trunk(org_id, trunk_id)

    async def add_trunk_number(self, org_id: str, trunk_id: str, number: str) -> TrunkRecord | None:
        return await self.sip.add_trunk_number(org_id, trunk_id, number)

    async def create_dispatch_rule(self, org_id: str, *, name: str, trunk_ids: list[str], room_prefix: str,
                                   metadata: dict[str, Any], dispatch: AgentDispatch | None) -> RuleRecord:
        return await self.sip.add_rule(rule_id=livekit_id("SDR_"), org_id=org_id, name=name, trunk_ids=trunk_ids,
                                       room_prefix=room_prefix, metadata=metadata,
                                       agent_name=dispatch.agent_name if dispatch else None, now=utcnow())

    async def delete_dispatch_rule(self, org_id: str, rule_id: str) -> bool:
        return await self.sip.delete_rule(org_id, rule_id)

    async def create_sip_participant(self, *, room_name: str, trunk_id: str, to_number: str, from_number: str,
                                     identity: str, name: str, metadata: str,
                                     attributes: dict[str, str]) -> SipParticipantInfo:
        """Record the outbound participant in the room (state ``dialing``).

        This process has no SIP media stack: the embedded backend keeps the control-plane state
        only, so nothing dials out here. To place real calls use ``TELEPHONY_BACKEND=livekit``
        with a LiveKit server and its SIP service (``livekit-sip``)."""
        participant: dict[str, Any] = {"identity": identity, "name": name, "kind": "sip", "state": "dialing",
                       "sid": livekit_id("PA_"), "metadata": metadata,
                       "attributes": {**attributes, "sip.trunkID": trunk_id, "sip.phoneNumber": to_number,
                                      "sip.trunkPhoneNumber": from_number}}
        room = await self.sip.add_participant(room_name, participant)
        if room is None:
            raise TelephonyRejected(f"room {room_name} does not exist")
        return SipParticipantInfo(participant["sid"], identity, room_name, livekit_id("SCL_"))

    async def route_inbound(self, call: InboundCall) -> tuple[Route, PhoneNumberRecord | None]:
        """Route an inbound call over every trunk and rule of the install (LiveKit semantics), and
        the phone-number registration of the called number (whose inbound agent answers).
        Raises :class:`adapters.sip.routing.RoutingError`."""
        trunks = [t.routing() for t in await self.sip.all_inbound_trunks()]
        rules = [r.routing() for r in await self.sip.all_rules()]
        route = route_inbound_call(trunks, rules, call)
        number = await self.sip.find_number(call.called_number)
        if number is not None and route.trunk is not None and number.org_id != route.trunk.org_id:
            number = None
        return route, number

    async def close(self) -> None:
        return None
