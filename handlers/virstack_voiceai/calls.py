"""Virstack calls: initiateWebCall, initiatePhoneCall, listCalls, listCallsViaPost, getCall,
updateCallMetadata, deleteCall, endCall.

State machine (adapters/storage/virstack_voiceai/calls.py): ``initiated`` → ``ringing`` (outbound SIP
participant dialling) / ``in_progress`` (caller in the room) → ``ended`` (endCall, or LiveKit
webhooks: participant_left of the caller, room_finished). Rooms of web calls are named
``call-<unix seconds>-<agent_id>`` (seed 004's example), of phone calls ``call-<call_id>``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from adapters.storage.virstack_voiceai.calls import STATUSES, CallFilter, CallRecord, RoomTaken
from adapters.telephony.base import AgentDispatch, TelephonyError
from core.clock import utcnow
from generated.models.virstack_voiceai import (
    CallAnalysis,
    CallDeleted,
    CallDeletedEnvelope,
    CallEnvelope,
    CallListEnvelope,
    CallResponse,
    CallTelephony,
    InitiateOutboundCallBody,
    InitiateWebCallBody,
    ListCallsBody,
    OutboundCallEnvelope,
    OutboundCallResponse,
    RecordingFile,
    Recordings,
    Telephony,
    Transcripts,
    UpdateCallBody,
    WebCallEnvelope,
    WebCallResponse,
)
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virstack_voiceai.agents import owned_agent
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import moment, not_found, ok, optional_moment, page
from handlers.virstack_voiceai.provisioning import telephony_error

logger = logging.getLogger("handlers.virstack_voiceai.calls")


def call_response(c: CallRecord) -> CallResponse:
    """A call as the call operations answer it (``CallResponse``): the optional parts only when
    they apply (transcripts once stored, recordings once an egress ended, ``telephony`` for SIP
    calls, ``duration_ms`` once ended, ``call_analysis`` once analysed)."""
    recordings = c.recordings or {}
    return CallResponse(
        call_id=c.call_id, agent_id=c.agent_id, channel=c.channel, direction=c.direction, status=c.status,
        room_name=c.room_name, metadata=c.metadata, created_at=moment(c.created_at), updated_at=moment(c.updated_at),
        transcripts=Transcripts.model_validate(c.transcripts) if c.transcripts is not None else None,
        recordings=Recordings(recording_url=recordings.get("recording_url")) if recordings else None,
        recording_files=[RecordingFile.model_validate(f) for f in recordings.get("files", [])] if recordings else None,
        start_timestamp=optional_moment(c.start_timestamp), end_timestamp=optional_moment(c.end_timestamp),
        agent_version=c.agent_version, participant_identity=c.participant_identity,
        disconnection_reason=c.disconnection_reason,
        call_analysis=CallAnalysis.model_validate(c.analysis) if c.analysis is not None else None,
        dynamic_variables=c.dynamic_variables or None,
        telephony=CallTelephony(from_number=c.from_number, to_number=c.to_number) if c.channel == "sip" else None,
        duration_ms=int((c.end_timestamp - c.start_timestamp).total_seconds() * 1000)
        if c.start_timestamp and c.end_timestamp else None,
    )


async def owned_call(call_id: str, token_info: dict[str, Any]) -> CallRecord:
    """The caller's organization's call, else 404 (also for another organization's id)."""
    call = await bundle().calls.get(token_info["org_id"], call_id)
    if call is None:
        raise not_found("Call", call_id)
    return call


async def _dispatch(org_id: str, call_id: str, agent_id: str, version: int | None,
                    dynamic_variables: dict[str, Any], metadata: dict[str, Any]) -> AgentDispatch:
    org = await bundle().accounts.get_organization(org_id)
    return AgentDispatch(agent_name=org.agent_server_name if org else "",
                         metadata={"call_id": call_id, "agent_id": agent_id, "agent_version": version,
                                   "organization_id": org_id, "dynamic_variables": dynamic_variables,
                                   "metadata": metadata})


async def _web_room_name(agent_id: str) -> str:
    """``call-<unix seconds>-<agent_id>``; a suffix ``-2``, ``-3``… only if that name is taken."""
    base = f"call-{int(time.time())}-{agent_id}"
    name, n = base, 1
    while await bundle().calls.room_in_use(name):
        n += 1
        name = f"{base}-{n}"
    return name


async def initiate_web_call(body: InitiateWebCallBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/call/web`` (initiateWebCall) → 201 ``WebCallEnvelope``.

    Creates the room (the organization's agent worker is dispatched into it with the call's
    ids, dynamic variables and metadata) and returns ``room_token``: a LiveKit participant JWT
    (HS256, ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``) granting ``roomJoin`` to that room only,
    for ``participant_identity`` (generated ``user-<random>`` when absent), valid one hour; and
    ``livekit_url`` to connect to. 404 unknown agent; 503 telephony backend unreachable."""
    req = body
    v = bundle()
    org_id = token_info["org_id"]
    agent = await owned_agent(req.agent_id, token_info)
    identity = (req.participant_identity or "").strip() or f"user-{secrets.token_hex(6)}"
    metadata, variables = req.metadata or {}, req.dynamic_variables or {}
    version = await v.agents.latest_version(agent.agent_id)
    call_id = str(uuid.uuid4())
    dispatch = await _dispatch(org_id, call_id, agent.agent_id, version, variables, metadata)
    for _attempt in range(5):
        room_name = await _web_room_name(agent.agent_id)
        try:
            call = await v.calls.create(call_id=call_id, org_id=org_id, agent_id=agent.agent_id,
                                        agent_version=version, channel="web", direction="inbound",
                                        status="initiated", room_name=room_name, participant_identity=identity,
                                        metadata=metadata, dynamic_variables=variables, created_at=utcnow(),
                                        updated_at=utcnow())
            break
        except RoomTaken:
            continue
    else:  # pragma: no cover - five concurrent calls to one agent in one second
        raise ApiError(503, "TELEPHONY_UNAVAILABLE", "could not allocate a room name, retry")
    try:
        await v.telephony.create_room(room_name, metadata=json.dumps(dispatch.metadata), dispatch=dispatch,
                                      empty_timeout=v.settings.virstack_room_empty_timeout)
    except TelephonyError as exc:
        await v.calls.delete(org_id, call_id)
        raise telephony_error(exc) from None
    token = v.telephony.participant_token(room=room_name, identity=identity, metadata=json.dumps(metadata),
                                          dispatch=dispatch)
    data = WebCallResponse(call_id=call.call_id, agent_id=agent.agent_id, channel="web", direction="inbound",
                           status=call.status, room_token=token, access_token=token, room_name=room_name,
                           livekit_url=v.telephony.url, participant_identity=identity)
    return ok(WebCallEnvelope, data, 201, "Web call initiated")


async def initiate_phone_call(body: InitiateOutboundCallBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/call/phone`` (initiatePhoneCall) → 201 ``OutboundCallEnvelope`` (status ``ringing``).

    ``from_number`` must be an active phone number of the organization with an outbound trunk
    (imported numbers have one); the agent is ``override_agent_id``, else the number's outbound,
    else its inbound agent. The room ``call-<call_id>`` is created with the agent dispatched, and
    an outbound SIP participant dials ``to_number`` (E.164) through the trunk. 404 unknown
    number or agent; 400 number inactive / without outbound trunk; 503 backend unreachable."""
    req = body
    v = bundle()
    org_id = token_info["org_id"]
    number = next((n for n in await v.sip.list_numbers(org_id) if n.number == req.from_number), None)
    if number is None:
        raise not_found("Phone number", req.from_number)
    agent_id = req.override_agent_id or number.outbound_agent_id or number.inbound_agent_id
    if agent_id is None:
        raise ApiError(400, "VALIDATION_ERROR", f"{req.from_number} has no agent; pass override_agent_id")
    agent = await owned_agent(agent_id, token_info)
    if not number.is_active:
        raise ApiError(400, "VALIDATION_ERROR", f"from_number: {req.from_number} is not active")
    if number.outbound_trunk_id is None:
        raise ApiError(400, "VALIDATION_ERROR",
                       f"from_number: {req.from_number} has no outbound SIP trunk (import it with a termination_uri)")
    metadata, variables = req.metadata or {}, req.dynamic_variables or {}
    version = await v.agents.latest_version(agent.agent_id)
    call_id = str(uuid.uuid4())
    room_name = f"call-{call_id}"
    dispatch = await _dispatch(org_id, call_id, agent.agent_id, version, variables, metadata)
    now = utcnow()
    call = await v.calls.create(call_id=call_id, org_id=org_id, agent_id=agent.agent_id, agent_version=version,
                                channel="sip", direction="outbound", status="initiated", room_name=room_name,
                                participant_identity=f"sip_{req.to_number}", from_number=req.from_number,
                                to_number=req.to_number, metadata=metadata, dynamic_variables=variables,
                                created_at=now, updated_at=now)
    try:
        await v.telephony.create_room(room_name, metadata=json.dumps(dispatch.metadata), dispatch=dispatch,
                                      empty_timeout=v.settings.virstack_room_empty_timeout)
        participant = await v.telephony.create_sip_participant(
            room_name=room_name, trunk_id=number.outbound_trunk_id, to_number=req.to_number,
            from_number=req.from_number, identity=f"sip_{req.to_number}", name=f"Phone {req.to_number}",
            metadata=json.dumps(metadata), attributes={"virstack.call_id": call_id})
    except TelephonyError as exc:
        await v.calls.transition(call_id, "ended", utcnow(), reason="dial_failed")
        with contextlib.suppress(TelephonyError):
            await v.telephony.delete_room(room_name)
        raise telephony_error(exc) from None
    result = await v.calls.transition(call_id, "ringing", utcnow(), sip_participant_id=participant.participant_id,
                                      sip_call_id=participant.sip_call_id)
    call = result[0] if result else call
    data = OutboundCallResponse(call_id=call.call_id, agent_id=agent.agent_id, channel="sip", direction="outbound",
                                status=call.status, room_name=room_name,
                                telephony=Telephony(from_number=req.from_number, to_number=req.to_number))
    return ok(OutboundCallEnvelope, data, 201, "Outbound call initiated")


def _strings(value: Any, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(x, str) for x in values):
        raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: a string or a list of strings")
    if allowed and any(x not in allowed for x in values):
        raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: one of {', '.join(allowed)}")
    return tuple(values)


def _moment(value: Any, key: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: an ISO 8601 date-time or epoch milliseconds")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: out of range") from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: an ISO 8601 date-time or epoch milliseconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def call_filter(filters: dict[str, Any] | None) -> CallFilter:
    """Supported ``filters`` keys: ``agent_id``, ``status``, ``channel``, ``direction`` (string or
    list of strings), ``room_name``, ``from_number``, ``to_number`` (string),
    ``created_after`` / ``created_before`` (ISO 8601 or epoch ms), ``metadata`` (object: every
    key must equal). Other keys are ignored."""
    f = filters or {}
    single = {}
    for key in ("room_name", "from_number", "to_number"):
        if key in f:
            if not isinstance(f[key], str):
                raise ApiError(400, "VALIDATION_ERROR", f"filters.{key}: a string")
            single[key] = f[key]
    if "metadata" in f and not isinstance(f["metadata"], dict):
        raise ApiError(400, "VALIDATION_ERROR", "filters.metadata: an object")
    return CallFilter(
        agent_ids=_strings(f["agent_id"], "agent_id") if "agent_id" in f else (),
        statuses=_strings(f["status"], "status", STATUSES) if "status" in f else (),
        channels=_strings(f["channel"], "channel", ("web", "sip")) if "channel" in f else (),
        directions=_strings(f["direction"], "direction", ("inbound", "outbound")) if "direction" in f else (),
        created_after=_moment(f["created_after"], "created_after") if "created_after" in f else None,
        created_before=_moment(f["created_before"], "created_before") if "created_before" in f else None,
        metadata=f.get("metadata") or {},
        **single,
    )


async def list_calls(token_info: dict[str, Any], limit: int | None = None, offset: int | None = None) -> Reply:
    """``GET /v1/call/list`` (listCalls) → 200 ``CallListEnvelope``: the organization's calls,
    newest first (``limit`` default 10, at most 100; ``offset`` default 0)."""
    limit, offset = page(limit, offset)
    calls = await bundle().calls.list(token_info["org_id"], limit, offset)
    return ok(CallListEnvelope, [call_response(c) for c in calls])


async def list_calls_via_post(token_info: dict[str, Any], body: ListCallsBody | None = None) -> Reply:
    """``POST /v1/call/list`` (listCallsViaPost) → 200 ``CallListEnvelope``: the calls matching
    ``filters`` (see :func:`call_filter`; 400 for a malformed filter), newest first;
    ``limit``/``offset`` as GET. No body: the first page of every call."""
    req = body if body is not None else ListCallsBody()
    limit, offset = page(req.limit, req.offset)
    filters = req.filters.model_dump(mode="json") if req.filters is not None else None  # free-form: every key as sent
    calls = await bundle().calls.list(token_info["org_id"], limit, offset, call_filter(filters))
    return ok(CallListEnvelope, [call_response(c) for c in calls])


async def get_call(call_id: str, token_info: dict[str, Any]) -> Reply:
    """``GET /v1/call/{call_id}`` (getCall) → 200 ``CallEnvelope`` (transcripts once stored,
    ``call_analysis`` once analysed). 404 unknown."""
    return ok(CallEnvelope, call_response(await owned_call(call_id, token_info)))


async def update_call_metadata(call_id: str, body: UpdateCallBody, token_info: dict[str, Any]) -> Reply:
    """``PATCH /v1/call/{call_id}`` (updateCallMetadata) → 200 ``CallEnvelope``; the keys of
    ``metadata`` are merged into the call's metadata. 404 unknown."""
    call = await bundle().calls.merge_metadata(token_info["org_id"], call_id, body.metadata or {}, utcnow())
    if call is None:
        raise not_found("Call", call_id)
    return ok(CallEnvelope, call_response(call), 200, "Call updated")


async def _end(call: CallRecord, reason: str) -> CallRecord:
    v = bundle()
    if call.status != "ended":
        try:
            await v.telephony.delete_room(call.room_name)
        except TelephonyError as exc:
            raise telephony_error(exc) from None
    result = await v.calls.transition(call.call_id, "ended", utcnow(), reason=reason)
    return result[0] if result else call


async def end_call(call_id: str, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/call/{call_id}/end`` (endCall) → 200 ``CallEnvelope``: the call, status ``ended``.
    The room is torn down (everyone disconnected); idempotent for an ended call. 404 unknown;
    503 telephony backend unreachable."""
    call = await _end(await owned_call(call_id, token_info), "ended_by_api")
    return ok(CallEnvelope, call_response(call), 200, "Call ended")


async def delete_call(call_id: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/call/{call_id}`` (deleteCall) → 200 ``CallDeletedEnvelope`` (``data: {call_id}``).
    A call still active is ended first (its room torn down). 404 unknown; 503 telephony backend
    unreachable."""
    call = await owned_call(call_id, token_info)
    await _end(call, "deleted")
    if await bundle().calls.delete(token_info["org_id"], call_id) is None:
        raise not_found("Call", call_id)
    return ok(CallDeletedEnvelope, CallDeleted(call_id=call_id), 200, "Call deleted")
