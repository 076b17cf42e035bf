"""LiveKit webhook authentication and parsing, exactly as LiveKit signs them.

A LiveKit server POSTs each event as JSON (``Content-Type: application/webhook+json``) with
``Authorization: <JWT>``: HS256 signed with the API secret, ``iss`` = the API key, an ``exp``,
and claim ``sha256`` = base64 of the SHA-256 digest of the exact body bytes. Verification here
checks the token with livekit-api's ``TokenVerifier`` (signature, issuer, expiry), then compares
the body digest with the claim in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import jwt


class InvalidSignature(Exception):
    """The request is not a webhook signed by this LiveKit key/secret."""


class InvalidEvent(ValueError):
    """The body is not a LiveKit WebhookEvent."""


def _token(authorization: str | None) -> str:
    value = (authorization or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise InvalidSignature("missing Authorization token")
    return value


def verify_token(authorization: str | None, api_key: str, api_secret: str) -> str:
    """Verify the JWT of an ``Authorization`` header (raw or ``Bearer``) → its ``sha256`` claim."""
    from livekit import api  # here, not at import: livekit.api brings aiohttp (~0.15 s of start-up)

    try:
        claims = api.TokenVerifier(api_key, api_secret).verify(_token(authorization))
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidSignature(f"webhook token does not verify: {exc}") from None
    if not claims.sha256:
        raise InvalidSignature("webhook token has no sha256 claim")
    return claims.sha256


def body_matches(sha256_claim: str, body: bytes) -> bool:
    """True when ``sha256_claim`` (base64) is the SHA-256 of ``body`` (constant-time compare)."""
    try:
        expected = base64.b64decode(sha256_claim, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hashlib.sha256(body).digest(), expected)


def verify(authorization: str | None, body: bytes, api_key: str, api_secret: str) -> None:
    """Raise :class:`InvalidSignature` unless ``body`` carries a valid LiveKit webhook signature."""
    if not body_matches(verify_token(authorization, api_key, api_secret), body):
        raise InvalidSignature("body does not match the signed sha256")


def sign(body: bytes, api_key: str, api_secret: str) -> str:
    """The ``Authorization`` value LiveKit would send for ``body`` (for tests and tools)."""
    from livekit import api

    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(api_key, api_secret).with_sha256(digest).to_jwt()


@dataclass(frozen=True)
class LiveKitEvent:
    """The parts of a WebhookEvent the server acts on (``raw`` keeps everything)."""

    id: str
    event: str
    created_at: int
    room_name: str | None
    room_sid: str | None
    participant_identity: str | None
    participant_kind: str | None
    participant_attributes: dict[str, str]
    raw: dict[str, Any]


#: The longest value (characters) of each field the server stores, as its columns declare
#: (migration 0009): an individual dispatch rule's room is ``<room_prefix>_<caller>_<random>``, up
#: to ~230 characters with the contract's 200-character prefix; SIP Call-IDs have no fixed length.
FIELD_LIMITS = {"id": 128, "event": 64, "room name": 512, "participant identity": 512,
                "sip.phoneNumber": 128, "sip.trunkPhoneNumber": 128, "sip.callID": 256}


def _check_lengths(event: LiveKitEvent) -> None:
    values = {"id": event.id, "event": event.event, "room name": event.room_name,
              "participant identity": event.participant_identity,
              **{k: event.participant_attributes.get(k) for k in ("sip.phoneNumber", "sip.trunkPhoneNumber",
                                                                   "sip.callID")}}
    for field, value in values.items():
        if value is not None and len(value) > FIELD_LIMITS[field]:
            raise InvalidEvent(f"webhook event's {field} is longer than {FIELD_LIMITS[field]} characters")


def parse(body: bytes) -> LiveKitEvent:
    """Parse a WebhookEvent (LiveKit's JSON encoding of the protobuf). Raises :class:`InvalidEvent`
    when it is not one, or a field the server stores is longer than its ``FIELD_LIMITS``."""
    from google.protobuf.json_format import MessageToDict, Parse, ParseError
    from livekit import api

    try:
        message = Parse(body.decode("utf-8"), api.WebhookEvent(), ignore_unknown_fields=True)
    except (ParseError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidEvent(f"not a LiveKit webhook event: {exc}") from None
    if not message.event:
        raise InvalidEvent("webhook event has no `event` name")
    raw = MessageToDict(message, preserving_proto_field_name=True)
    room = message.room if message.HasField("room") else None
    participant = message.participant if message.HasField("participant") else None
    kind = None
    if participant is not None:
        kind = api.ParticipantInfo.Kind.Name(participant.kind).lower()
    room_name = room.name if room is not None and room.name else None
    if room_name is None and message.HasField("egress_info") and message.egress_info.room_name:
        room_name = message.egress_info.room_name
    if room_name is None:
        try:
            room_name = json.loads(body).get("room", {}).get("name") or None
        except (ValueError, AttributeError):
            room_name = None
    event = LiveKitEvent(
        id=message.id,
        event=message.event,
        created_at=int(message.created_at),
        room_name=room_name,
        room_sid=room.sid if room is not None and room.sid else None,
        participant_identity=participant.identity if participant is not None and participant.identity else None,
        participant_kind=kind,
        participant_attributes=dict(participant.attributes) if participant is not None else {},
        raw=raw,
    )
    _check_lengths(event)
    return event
