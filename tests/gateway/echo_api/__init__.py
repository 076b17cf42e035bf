"""A fifth API, in tests only: its contract (``openapi.yaml``), plugin, bundle and two operations.

It shows what adding an API takes — its contract, an entry in ``merge.yaml``, this package —
and that ``gateway/`` serves it unchanged: routing, its own security function, its own error
envelope and validation status (422), typed request and response models.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from handlers.errors import ApiError
from handlers.plugin import ApiPlugin, BundleSlot
from handlers.results import Reply
from handlers.services import ApiBundle, Services

API = "echo-notes"
KEYS = {"key-alice": "alice", "key-bob": "bob"}


class NoteInput(BaseModel):
    """Stands for the generated ``NoteInput`` (``generated/models/echo_notes.py`` in a real API)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100)


class Note(BaseModel):
    note_id: str
    text: str
    owner: str


@dataclass
class EchoNotes(ApiBundle):
    notes: dict[str, Note] = field(default_factory=dict)


bundle: BundleSlot[EchoNotes] = BundleSlot(API)


class EchoEnvelope:
    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        return {"oops": message, "status": status}

    def headers(self, status: int) -> dict[str, str]:
        return {"X-Echo-Error": str(status)}


def key_info(api_key: str, required_scopes: Any = None) -> dict[str, Any] | None:
    """``X-Echo-Key`` → the caller (None for an unknown key: 401)."""
    user = KEYS.get(api_key)
    return {"sub": user} if user else None


async def create_note(body: NoteInput, token_info: dict[str, Any]) -> Reply:
    """``POST /echo/notes`` (createNote) → 201 ``Note``."""
    note = Note(note_id=secrets.token_hex(8), text=body.text, owner=token_info["sub"])
    bundle().notes[note.note_id] = note
    return Reply(note, 201)


async def get_note(note_id: str, token_info: dict[str, Any]) -> Note:
    """``GET /echo/notes/{note_id}`` (getNote) → 200 ``Note``; another caller's note is 404."""
    note = bundle().notes.get(note_id)
    if note is None or note.owner != token_info["sub"]:
        raise ApiError(404, "NOT_FOUND", f"note {note_id} not found")
    return note


def build(services: Services) -> EchoNotes:
    return EchoNotes(services)


plugin: ApiPlugin[EchoNotes] = ApiPlugin(name=API, envelope=EchoEnvelope(), validation_status=422, build=build,
                                         security={"KeyAuth": key_info})
