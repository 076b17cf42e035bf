"""Virstack calls and received LiveKit webhook events: persistence only.

A call's ``status`` follows a one-way state machine (:data:`TRANSITIONS`): ``initiated`` →
``ringing`` (an outbound SIP participant is being dialled) and/or ``in_progress`` (the caller
is in the room) → ``ended``. A transition that would go backwards, or leave ``ended``, is
ignored, so replayed or out-of-order webhooks cannot resurrect a call.
"""

from __future__ import annotations

import builtins
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.tables import VsCall, VsWebhookEvent

INITIATED, RINGING, IN_PROGRESS, ENDED = "initiated", "ringing", "in_progress", "ended"
STATUSES = (INITIATED, RINGING, IN_PROGRESS, ENDED)
TRANSITIONS: dict[str, frozenset[str]] = {
    INITIATED: frozenset({RINGING, IN_PROGRESS, ENDED}),
    RINGING: frozenset({IN_PROGRESS, ENDED}),
    IN_PROGRESS: frozenset({ENDED}),
    ENDED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    """True when ``current`` → ``target`` is a forward step of the call state machine."""
    return target in TRANSITIONS.get(current, frozenset())


class RoomTaken(Exception):
    """Another call already uses that room name."""


@dataclass(frozen=True)
class CallRecord:
    """A call: ids, channel (web|sip), direction, status, room, numbers, metadata, transcripts, analysis, recordings,
    UTC timestamps."""

    call_id: str
    org_id: str
    agent_id: str
    agent_version: int | None
    channel: str
    direction: str
    status: str
    room_name: str
    participant_identity: str | None
    from_number: str | None
    to_number: str | None
    sip_participant_id: str | None
    metadata: dict[str, Any]
    dynamic_variables: dict[str, Any]
    transcripts: dict[str, Any] | None
    analysis: dict[str, Any] | None
    disconnection_reason: str | None
    created_at: datetime
    updated_at: datetime
    start_timestamp: datetime | None
    end_timestamp: datetime | None
    has_session_report: bool = False
    recordings: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallFilter:
    """Conditions of a call listing (all optional; lists mean "any of")."""

    agent_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    room_name: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _call(row: VsCall) -> CallRecord:
    return CallRecord(row.call_id, row.org_id, row.agent_id, row.agent_version, row.channel, row.direction, row.status,
                      row.room_name, row.participant_identity, row.from_number, row.to_number,
                      row.sip_participant_id, copy.deepcopy(row.metadata_), copy.deepcopy(row.dynamic_variables),
                      copy.deepcopy(row.transcripts), copy.deepcopy(row.analysis), row.disconnection_reason,
                      row.created_at, row.updated_at, row.start_timestamp, row.end_timestamp,
                      row.session_report is not None, copy.deepcopy(row.recordings))


def _owned(s: Session, org_id: str, call_id: str, lock: bool = False) -> VsCall | None:
    row = s.get(VsCall, call_id, with_for_update=lock)
    return row if row is not None and row.org_id == org_id else None


def _apply(row: VsCall, status: str, now: datetime, reason: str | None) -> bool:
    if not can_transition(row.status, status):
        return False
    row.status = status
    if status == IN_PROGRESS and row.start_timestamp is None:
        row.start_timestamp = now
    if status == ENDED:
        row.end_timestamp = row.end_timestamp or now
        row.disconnection_reason = row.disconnection_reason or reason
    row.updated_at = now
    return True


class CallStore:
    """Calls, their state machine, transcripts and analyses, and the received LiveKit webhook events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, **values: Any) -> CallRecord:
        """Insert a call (``metadata`` → the metadata column). Raises :class:`RoomTaken`."""
        values = dict(values)
        values["metadata_"] = values.pop("metadata", {}) or {}

        def work(s: Session) -> CallRecord:
            row = VsCall(**values)
            s.add(row)
            s.flush()
            return _call(row)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise RoomTaken(values.get("room_name")) from None

    async def room_in_use(self, room_name: str) -> bool:
        """Whether a call already uses the room ``room_name``."""
        return await self.db.run(lambda s: s.exec(
            select(VsCall.call_id).where(VsCall.room_name == room_name)).first() is not None)

    async def get(self, org_id: str, call_id: str) -> CallRecord | None:
        """The organization's call ``call_id``, or None (also for another organization's id)."""
        def work(s: Session) -> CallRecord | None:
            row = _owned(s, org_id, call_id)
            return _call(row) if row else None

        return await self.db.run(work)

    async def get_by_room(self, room_name: str) -> CallRecord | None:
        """The call in room ``room_name``, of any organization, or None."""
        row = await self.db.run(lambda s: s.exec(select(VsCall).where(VsCall.room_name == room_name)).first())
        return _call(row) if row else None

    async def list(self, org_id: str, limit: int, offset: int, flt: CallFilter | None = None) -> list[CallRecord]:
        """The organization's calls matching ``flt``, newest first."""
        flt = flt or CallFilter()

        def work(s: Session) -> list[CallRecord]:
            query = select(VsCall).where(VsCall.org_id == org_id)
            for column, values in ((col(VsCall.agent_id), flt.agent_ids), (col(VsCall.status), flt.statuses),
                                   (col(VsCall.channel), flt.channels), (col(VsCall.direction), flt.directions)):
                if values:
                    query = query.where(column.in_(values))
            for optional, value in ((col(VsCall.room_name), flt.room_name), (col(VsCall.from_number), flt.from_number),
                                    (col(VsCall.to_number), flt.to_number)):
                if value is not None:
                    query = query.where(optional == value)
            if flt.created_after is not None:
                query = query.where(col(VsCall.created_at) >= flt.created_after)
            if flt.created_before is not None:
                query = query.where(col(VsCall.created_at) < flt.created_before)
            query = query.order_by(col(VsCall.created_at).desc(), col(VsCall.call_id))
            if not flt.metadata:
                return [_call(r) for r in s.exec(query.offset(offset).limit(limit)).all()]
            rows = [r for r in s.exec(query).all()
                    if all(k in r.metadata_ and r.metadata_[k] == v for k, v in flt.metadata.items())]
            return [_call(r) for r in rows[offset:offset + limit]]

        return await self.db.run(work)

    async def merge_metadata(self, org_id: str, call_id: str, metadata: dict[str, Any],
                             now: datetime) -> CallRecord | None:
        """Shallow-merge ``metadata`` into the call's metadata."""

        def work(s: Session) -> CallRecord | None:
            row = _owned(s, org_id, call_id, lock=True)
            if row is None:
                return None
            row.metadata_ = {**row.metadata_, **metadata}
            row.updated_at = now
            s.add(row)
            s.flush()
            return _call(row)

        return await self.db.run(work)

    async def delete(self, org_id: str, call_id: str) -> CallRecord | None:
        """Delete the organization's call ``call_id`` → the deleted record, or None when unknown."""
        def work(s: Session) -> CallRecord | None:
            row = _owned(s, org_id, call_id, lock=True)
            if row is None:
                return None
            record = _call(row)
            s.delete(row)
            return record

        return await self.db.run(work)

    async def transition(self, call_id: str, status: str, now: datetime, reason: str | None = None,
                         **fields: Any) -> tuple[CallRecord, bool] | None:
        """Move the call to ``status`` if that is a forward step → ``(call, changed)``; extra
        ``fields`` (e.g. ``sip_participant_id``) are set either way. None: no such call."""

        def work(s: Session) -> tuple[CallRecord, bool] | None:
            row = s.get(VsCall, call_id, with_for_update=True)
            if row is None:
                return None
            for key, value in fields.items():
                setattr(row, key, value)
            changed = _apply(row, status, now, reason)
            if fields or changed:
                row.updated_at = now
                s.add(row)
                s.flush()
            return _call(row), changed

        return await self.db.run(work)

    async def store_transcripts(self, call_id: str, transcripts: dict[str, Any], report: dict[str, Any],
                                now: datetime) -> CallRecord | None:
        """Store the parsed ``transcripts`` and the raw session ``report`` on the call (replacing earlier ones) → the
        call, or None."""
        def work(s: Session) -> CallRecord | None:
            row = s.get(VsCall, call_id, with_for_update=True)
            if row is None:
                return None
            row.transcripts = transcripts
            row.session_report = report
            row.updated_at = now
            s.add(row)
            s.flush()
            return _call(row)

        return await self.db.run(work)

    async def session_report(self, call_id: str) -> dict[str, Any] | None:
        """The raw session report stored for the call, or None."""
        row = await self.db.run(lambda s: s.get(VsCall, call_id))
        return copy.deepcopy(row.session_report) if row is not None else None

    async def store_analysis(self, org_id: str, call_id: str, analysis: dict[str, Any],
                             now: datetime) -> CallRecord | None:
        """Store the post-call ``analysis`` on the organization's call → the call, or None."""
        def work(s: Session) -> CallRecord | None:
            row = _owned(s, org_id, call_id, lock=True)
            if row is None:
                return None
            row.analysis = analysis
            row.updated_at = now
            s.add(row)
            s.flush()
            return _call(row)

        return await self.db.run(work)

    async def add_recording(self, call_id: str, location: str, egress_id: str, now: datetime) -> CallRecord | None:
        """Record a finished egress file of the call: the first one is ``recording_url``; every
        file is kept in ``files`` (``{egress_id, location}``)."""

        def work(s: Session) -> CallRecord | None:
            row = s.get(VsCall, call_id, with_for_update=True)
            if row is None:
                return None
            recordings = copy.deepcopy(row.recordings) or {}
            files = recordings.get("files", [])
            if not any(f.get("location") == location for f in files):
                files.append({"egress_id": egress_id, "location": location})
            recordings["files"] = files
            recordings.setdefault("recording_url", location)
            row.recordings = recordings
            row.updated_at = now
            s.add(row)
            s.flush()
            return _call(row)

        return await self.db.run(work)

    async def active_for_agent(self, org_id: str, agent_id: str) -> builtins.list[CallRecord]:
        """The organization's calls of ``agent_id`` that have not ended."""
        def work(s: Session) -> builtins.list[CallRecord]:
            rows = s.exec(select(VsCall).where(VsCall.org_id == org_id, VsCall.agent_id == agent_id,
                                               VsCall.status != ENDED)).all()
            return [_call(r) for r in rows]

        return await self.db.run(work)

    # ---------------------------------------------------------------- webhook events

    async def record_event(self, *, event_id: str, event: str, room_name: str | None, call_id: str | None,
                           payload: dict[str, Any], now: datetime) -> bool:
        """Store a webhook event once: True when new, False when ``event_id`` was seen before."""

        def work(s: Session) -> bool:
            if s.get(VsWebhookEvent, event_id) is not None:
                return False
            s.add(VsWebhookEvent(event_id=event_id, event=event, room_name=room_name, call_id=call_id,
                                 payload=payload, processed=False, created_at=now))
            s.flush()
            return True

        try:
            return await self.db.run(work)
        except IntegrityError:
            return False

    async def mark_event_processed(self, event_id: str) -> None:
        """Record that the webhook event ``event_id`` was applied."""
        def work(s: Session) -> None:
            row = s.get(VsWebhookEvent, event_id)
            if row is not None:
                row.processed = True
                s.add(row)

        await self.db.run(work)

    async def event(self, event_id: str) -> dict[str, Any] | None:
        """The stored webhook event ``event_id`` (its columns as a dict), or None."""
        def work(s: Session) -> dict[str, Any] | None:
            row = s.get(VsWebhookEvent, event_id)
            return None if row is None else {"event": row.event, "room_name": row.room_name, "call_id": row.call_id,
                                             "processed": row.processed, "payload": copy.deepcopy(row.payload)}

        return await self.db.run(work)

    async def count_events(self) -> int:
        """The number of stored webhook events."""
        return await self.db.run(lambda s: len(s.exec(select(VsWebhookEvent.event_id)).all()))
