"""ServiceAi's error envelope ``ErrorEnvelope``: ``{error: {code, message, details?}}``."""

from __future__ import annotations

from typing import Any


class ServiceaiEnvelope:
    """``ErrorEnvelope`` of specs/serviceai (``details`` only when there are some)."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The error body."""
        error: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            error["details"] = details
        return {"error": error}

    def headers(self, status: int) -> dict[str, str]:
        """No extra headers."""
        return {}
