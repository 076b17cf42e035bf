"""Virstack VoiceAI's error envelope ``ErrorResponse``: ``{success: false, code: <status>, error, data: null}``."""

from __future__ import annotations

from typing import Any


class VirstackEnvelope:
    """``ErrorResponse`` of seed 004 (``code`` repeats the HTTP status)."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The error body (the machine code and details have no place in it)."""
        return {"success": False, "code": status, "error": message, "data": None}

    def headers(self, status: int) -> dict[str, str]:
        """No extra headers."""
        return {}
