"""Envelopes, paging, access checks and formatting shared by the Virstack handlers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.clock import isoformat
from handlers.errors import ApiError

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 2**31 - 1  # beyond any real listing; keeps SQL parameters within 64-bit integers
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def ok(data: Any, status: int = 200, message: str = "Request successful", headers: dict[str, str] | None = None):
    """The success envelope ``{success: true, code, message, data}`` and the status."""
    body = {"success": True, "code": status, "message": message, "data": data}
    return (body, status, headers) if headers else (body, status)


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    """``limit`` (default 10, clamped to 0..100) and ``offset`` (default 0, clamped to 0..2^31-1)."""
    limit = DEFAULT_LIMIT if limit is None else max(0, min(int(limit), MAX_LIMIT))
    offset = 0 if offset is None else max(0, min(int(offset), MAX_OFFSET))
    return limit, offset


def ts(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


def not_found(kind: str, ident: str) -> ApiError:
    """The one answer for a missing id and for another organization's id."""
    return ApiError(404, "NOT_FOUND", f"{kind} {ident} not found")


def require_admin(token_info: dict[str, Any]) -> None:
    if token_info.get("role") != "admin":
        raise ApiError(403, "FORBIDDEN", "Admin access required")


def check_email(email: str) -> str:
    """A plausible address (``local@domain``) trimmed, else 400."""
    email = email.strip()
    if not EMAIL.match(email) or len(email) > 320:
        raise ApiError(400, "VALIDATION_ERROR", "email: not a valid email address")
    return email


def strip_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nones(v) for v in value]
    return value
