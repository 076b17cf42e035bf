"""Virtual Banker's error envelope ``ErrorResponse``:
``{success: false, error: {code, message, details}, timestamp}``."""

from __future__ import annotations

from typing import Any

from core.clock import isoformat, utcnow


class VirtualBankerEnvelope:
    """``ErrorResponse`` of specs/virtual-banker (``details`` is always an object)."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The error body; ``timestamp`` is now (RFC 3339)."""
        return {
            "success": False,
            "error": {"code": code, "message": message, "details": details if isinstance(details, dict) else {}},
            "timestamp": isoformat(utcnow()),
        }

    def headers(self, status: int) -> dict[str, str]:
        """No extra headers."""
        return {}
