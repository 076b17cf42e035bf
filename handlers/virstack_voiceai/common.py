"""The success envelope, paging, access checks and formatting shared by the Virstack handlers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from core.clock import isoformat
from generated.models.virstack_voiceai import SuccessResponseBase
from handlers.errors import ApiError
from handlers.results import Reply

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 2**31 - 1  # beyond any real listing; keeps SQL parameters within 64-bit integers
SPACE = " \t\n\r\f\v"  # ASCII whitespace: the contract's email pattern spells the same set out
EMAIL = re.compile(r"^[ \t\n\r\f\v]*[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+[ \t\n\r\f\v]*$")  # = the contract's pattern

Envelope = TypeVar("Envelope", bound=SuccessResponseBase)


def envelope(kind: type[Envelope], data: Any, status: int = 200, message: str = "Request successful") -> Envelope:
    """The success envelope ``kind`` (a generated ``*Envelope`` model): ``{success: true, code:
    <status>, message, data}``. ``data`` is the generated model (or list of models) the envelope
    declares; a mismatch raises pydantic's ValidationError (a server bug, answered 500)."""
    return kind.model_validate({"success": True, "code": status, "message": message, "data": data})


def ok(kind: type[SuccessResponseBase], data: Any, status: int = 200, message: str = "Request successful",
       headers: Mapping[str, str] | None = None) -> Reply:
    """Every Virstack success answer: :func:`envelope` as the JSON body of a ``status`` response
    (``code`` repeats the status, as the contract's envelopes do)."""
    return Reply(envelope(kind, data, status, message), status, dict(headers or {}))


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    """``limit`` (default 10, clamped to 0..100) and ``offset`` (default 0, clamped to 0..2^31-1)."""
    limit = DEFAULT_LIMIT if limit is None else max(0, min(int(limit), MAX_LIMIT))
    offset = 0 if offset is None else max(0, min(int(offset), MAX_OFFSET))
    return limit, offset


def stamp(moment: datetime) -> str:
    """A timestamp the contract types as a plain string: RFC 3339, UTC, seconds, ``Z``."""
    return isoformat(moment)


def moment(value: datetime) -> datetime:
    """A timestamp for a ``format: date-time`` field: aware UTC, whole seconds, so that the JSON
    is ``2024-01-20T15:30:00Z`` like every other Virstack timestamp."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def optional_moment(value: datetime | None) -> datetime | None:
    """:func:`moment`, None kept."""
    return moment(value) if value is not None else None


def not_found(kind: str, ident: str) -> ApiError:
    """The one answer for a missing id and for another organization's id: 404 ``NOT_FOUND``."""
    return ApiError(404, "NOT_FOUND", f"{kind} {ident} not found")


def require_admin(token_info: Mapping[str, Any]) -> None:
    """403 ``FORBIDDEN`` unless the caller's role is ``admin``."""
    if token_info.get("role") != "admin":
        raise ApiError(403, "FORBIDDEN", "Admin access required")


def check_email(email: str) -> str:
    """``email`` trimmed of ASCII whitespace when it is ``local@domain`` (no whitespace inside, at
    most 320 characters: the contract's pattern and maxLength), else 400 ``VALIDATION_ERROR``."""
    if not EMAIL.match(email) or len(email) > 320:
        raise ApiError(400, "VALIDATION_ERROR", "email: not a valid email address")
    return email.strip(SPACE)
