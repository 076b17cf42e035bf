"""Virstack receiveLivekitWebhook and storeCallTranscript."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from adapters.storage.virstack_voiceai.calls import CallRecord, RoomTaken
from adapters.telephony.session_report import parse_session_report
from adapters.telephony.webhooks import InvalidEvent, LiveKitEvent, body_matches, parse
from core.clock import utcnow
from generated.models.virstack_voiceai import (
    SessionReport,
    TranscriptStored,
    TranscriptStoredEnvelope,
    WebhookEnvelope,
    WebhookResponse,
)
from handlers.errors import ApiError
from handlers.request import request
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import not_found, ok

logger = logging.getLogger("handlers.virstack_voiceai.webhooks")


async def _inbound_call(event: LiveKitEvent) -> CallRecord | None:
    """A SIP caller joined a room no call knows: an inbound call to a registered number (the room
    was created by a dispatch rule). Record it for the number's organization and inbound agent."""
    v = bundle()
    called = event.participant_attributes.get("sip.trunkPhoneNumber")
    number = await v.sip.find_number(called) if called else None
    if number is None or not number.is_active or number.inbound_agent_id is None:
        return None
    agent = await v.agents.get(number.org_id, number.inbound_agent_id)
    if agent is None:
        return None
    now = utcnow()
    try:
        return await v.calls.create(call_id=str(uuid.uuid4()), org_id=number.org_id, agent_id=agent.agent_id,
                                    agent_version=await v.agents.latest_version(agent.agent_id), channel="sip",
                                    direction="inbound", status="initiated", room_name=event.room_name,
                                    participant_identity=event.participant_identity,
                                    from_number=event.participant_attributes.get("sip.phoneNumber"),
                                    to_number=called, metadata={}, dynamic_variables={}, created_at=now,
                                    updated_at=now)
    except RoomTaken:  # a concurrent delivery created it
        return await v.calls.get_by_room(event.room_name or "")


async def _apply(event: LiveKitEvent) -> str | None:
    """Move the call of ``event.room_name`` along its state machine → the call id, if any.
    An inbound SIP caller joining an unknown room creates the inbound call (see _inbound_call)."""
    v = bundle()
    if not event.room_name:
        return None
    call = await v.calls.get_by_room(event.room_name)
    if call is None and event.event == "participant_joined" and event.participant_kind == "sip":
        call = await _inbound_call(event)
    if call is None:
        return None
    now = utcnow()
    caller = event.participant_kind in ("standard", "sip") and (
        event.participant_identity == call.participant_identity or event.participant_kind == "sip")
    if event.event == "participant_joined" and caller:
        await v.calls.transition(call.call_id, "in_progress", now)
    elif event.event == "participant_left" and caller:
        await v.calls.transition(call.call_id, "ended", now, reason="user_hangup")
    elif event.event == "room_finished":
        await v.calls.transition(call.call_id, "ended", now, reason="room_finished")
    elif event.event == "egress_ended":
        egress = event.raw.get("egress_info") or {}
        for result in egress.get("file_results") or ([egress["file"]] if egress.get("file") else []):
            location = result.get("location") or result.get("filename")
            if location:
                await v.calls.add_recording(call.call_id, location, egress.get("egress_id", ""), now)
    return call.call_id


async def receive_livekit_webhook(token_info: dict[str, Any]) -> Reply:
    """``POST /v1/webhooks/livekit`` (receiveLivekitWebhook) → 200 ``WebhookEnvelope``
    (``data: {received, event_type, processed, event_id}``).

    Authentication (security scheme ``LiveKitWebhook``): the JWT in ``Authorization`` must verify
    with ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET`` (checked before this runs) and its ``sha256``
    claim must equal the SHA-256 of the exact body (constant-time compare here) - else 401 and
    nothing is stored. Each event is stored once by its ``id``; a replay answers
    ``processed: false``. Call effects: ``participant_joined`` of the caller → ``in_progress``;
    ``participant_left`` of the caller and ``room_finished`` → ``ended``; ``egress_ended`` with a file
    result → the call's ``recordings.recording_url`` (every file in ``recording_files``). 400 not a
    LiveKit event.
    """
    raw = await request.body()  # the exact bytes are what was signed (no parsed `body` parameter on purpose:
    # connexion would consume the stream to parse it)
    if token_info.get("kind") != "livekit_webhook" or not body_matches(token_info.get("sha256", ""), raw):
        raise ApiError(401, "UNAUTHORIZED", "Invalid webhook signature")
    try:
        event = parse(raw)
    except InvalidEvent as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
    v = bundle()
    call = await v.calls.get_by_room(event.room_name) if event.room_name else None
    event_id = event.id or f"{event.event}:{event.room_sid or event.room_name}:{event.created_at}"
    new = await v.calls.record_event(event_id=event_id, event=event.event, room_name=event.room_name,
                                     call_id=call.call_id if call else None, payload=event.raw, now=utcnow())
    if new:
        await _apply(event)
        await v.calls.mark_event_processed(event_id)
    data = WebhookResponse(received=True, event_type=event.event, processed=new, event_id=event_id)
    return ok(WebhookEnvelope, data, 200, "Webhook received" if new else "Webhook already received")


async def store_call_transcript(room_name: str, body: SessionReport, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/call/{roomName}/transcript`` (storeCallTranscript) → 200 ``TranscriptStoredEnvelope``
    (``data: {call_id, room_name, utterances, tool_calls}``: counts of what was stored).

    ``body`` is the LiveKit SessionReport the agent posts at shutdown; it is parsed into
    ``transcript`` (text), ``transcript_object`` and ``transcript_with_tool_calls``
    (adapters/telephony/session_report.py), which are stored on the call with the raw report.
    Sending it again replaces them. 404 no call of the organization uses that room; 413 when the
    report, as compact JSON, is larger than ``VIRSTACK_TRANSCRIPT_MAX_BYTES`` (its strings are
    free-form, so no maxLength can bound it: issue 13 item 6 stored 10 MB transcripts as sent)."""
    v = bundle()
    report = body.model_dump(mode="json")  # the free-form report, every key as sent
    size = len(json.dumps(report, separators=(",", ":"), ensure_ascii=False).encode())
    if size > v.settings.virstack_transcript_max_bytes:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"The session report is {size} bytes; at most "
                                                 f"{v.settings.virstack_transcript_max_bytes} are stored")
    call = await v.calls.get_by_room(room_name)
    if call is None or call.org_id != token_info["org_id"]:
        raise not_found("Call for room", room_name)
    transcripts = parse_session_report(report)
    await v.calls.store_transcripts(call.call_id, transcripts, report, utcnow())
    tool_calls = sum(1 for t in transcripts["transcript_with_tool_calls"] if t["role"] == "tool_call_invocation")
    data = TranscriptStored(call_id=call.call_id, room_name=room_name,
                            utterances=len(transcripts["transcript_object"]), tool_calls=tool_calls)
    return ok(TranscriptStoredEnvelope, data, 200, "Transcript processed and stored")
