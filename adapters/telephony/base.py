"""What the Virstack handlers ask of a telephony backend (embedded or LiveKit).

Both backends mint participant tokens with livekit-api's ``AccessToken`` signed with the
configured LiveKit API key/secret, and keep the organization ownership of trunks and rules in
the database (adapters/storage/virstack_voiceai/sip.py). The embedded backend *is* the SIP/room
control plane (rows in the database, LiveKit's routing in adapters/sip/routing.py); the
LiveKit backend drives a LiveKit server through its Twirp API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from adapters.storage.virstack_voiceai.sip import RuleRecord, SipStore, TrunkRecord

if TYPE_CHECKING:  # livekit.api (with aiohttp, ~0.15 s) is imported when a token is first made
    from livekit import api


class TelephonyError(Exception):
    """The backend failed or is unreachable (not the caller's fault)."""


class TelephonyConflict(TelephonyError):
    """The backend refused a trunk/rule because it conflicts with an existing one."""


class TelephonyRejected(TelephonyError):
    """The backend refused the request as invalid (``message`` says why)."""


@dataclass(frozen=True)
class RoomInfo:
    name: str
    sid: str
    metadata: str = ""
    num_participants: int = 0


@dataclass(frozen=True)
class SipParticipantInfo:
    participant_id: str
    participant_identity: str
    room_name: str
    sip_call_id: str


@dataclass(frozen=True)
class AgentDispatch:
    """Which agent worker (the organization's ``agent_server_name``) joins a room, with what metadata."""

    agent_name: str
    metadata: dict[str, Any]

    def proto(self) -> api.RoomAgentDispatch:
        from livekit import api

        return api.RoomAgentDispatch(agent_name=self.agent_name, metadata=json.dumps(self.metadata))


def participant_token(api_key: str, api_secret: str, *, room: str, identity: str, name: str | None = None,
                      metadata: str | None = None, attributes: dict[str, str] | None = None,
                      dispatch: AgentDispatch | None = None, ttl_seconds: int = 3600) -> str:
    """A LiveKit access token (JWT, HS256) that lets ``identity`` join ``room`` and publish,
    subscribe and send data. With ``dispatch`` the token also carries the room configuration
    that makes LiveKit dispatch the agent worker when it creates the room."""
    from livekit import api

    token = (api.AccessToken(api_key, api_secret).with_identity(identity)
             .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                          can_publish_data=True))
             .with_ttl(timedelta(seconds=ttl_seconds)))
    if name:
        token = token.with_name(name)
    if metadata:
        token = token.with_metadata(metadata)
    if attributes:
        token = token.with_attributes(attributes)
    if dispatch is not None:
        token = token.with_room_config(api.RoomConfiguration(agents=[dispatch.proto()]))
    return token.to_jwt()


class SignedBackend:
    """What both backends share: the SIP store, the LiveKit URL, and the API key pair that
    signs participant tokens (the embedded backend signs exactly as a LiveKit server expects)."""

    def __init__(self, sip: SipStore, *, url: str, api_key: str, api_secret: str) -> None:
        self.sip = sip
        self.url = url
        self.api_key = api_key
        self._api_secret = api_secret

    def participant_token(self, *, room: str, identity: str, name: str | None = None, metadata: str | None = None,
                          attributes: dict[str, str] | None = None, dispatch: AgentDispatch | None = None,
                          ttl_seconds: int = 3600) -> str:
        """A participant JWT for ``room`` signed with this backend's key pair; see
        :func:`participant_token` (``ttl_seconds`` in seconds)."""
        return participant_token(self.api_key, self._api_secret, room=room, identity=identity, name=name,
                                 metadata=metadata, attributes=attributes, dispatch=dispatch, ttl_seconds=ttl_seconds)


@runtime_checkable
class Telephony(Protocol):
    """A telephony backend. Ids of trunks/rules are LiveKit-shaped (``ST_…``, ``SDR_…``)."""

    backend: str
    url: str
    api_key: str

    def participant_token(self, *, room: str, identity: str, name: str | None = None, metadata: str | None = None,
                          attributes: dict[str, str] | None = None, dispatch: AgentDispatch | None = None,
                          ttl_seconds: int = 3600) -> str: ...

    async def create_room(self, name: str, *, metadata: str, dispatch: AgentDispatch | None,
                          empty_timeout: int) -> RoomInfo: ...

    async def delete_room(self, name: str) -> bool:
        """Close the room and disconnect everyone; False when there was no such room."""
        ...

    async def create_inbound_trunk(self, org_id: str, *, name: str, numbers: list[str], auth_username: str | None,
                                   auth_password: str | None) -> TrunkRecord: ...

    async def create_outbound_trunk(self, org_id: str, *, name: str, address: str, numbers: list[str],
                                    auth_username: str | None, auth_password: str | None) -> TrunkRecord: ...

    async def delete_trunk(self, org_id: str, trunk_id: str) -> bool: ...

    async def add_trunk_number(self, org_id: str, trunk_id: str, number: str) -> TrunkRecord | None:
        """Let inbound trunk ``trunk_id`` serve ``number`` too; None when it is not the org's."""
        ...

    async def create_dispatch_rule(self, org_id: str, *, name: str, trunk_ids: list[str], room_prefix: str,
                                   metadata: dict[str, Any], dispatch: AgentDispatch | None) -> RuleRecord: ...

    async def delete_dispatch_rule(self, org_id: str, rule_id: str) -> bool: ...

    async def create_sip_participant(self, *, room_name: str, trunk_id: str, to_number: str, from_number: str,
                                     identity: str, name: str, metadata: str,
                                     attributes: dict[str, str]) -> SipParticipantInfo:
        """Dial ``to_number`` from ``from_number`` over the outbound trunk into ``room_name``."""
        ...

    async def close(self) -> None: ...
