"""SiteLLM Vertebro Voice's FastAPI-style errors: ``{detail: <snake_case code>}``; validation
failures ``{detail: [{loc, msg, type}]}`` (422); a Basic challenge on every 401."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

CHALLENGE = 'Basic realm="vertebro"'


class VertebroEnvelope:
    """``HTTPError`` / ``HTTPValidationError`` of specs/vertebro-voice."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The error body: the contract's snake_case code as ``detail`` (the HTTP phrase for the
        gateway's own upper-case codes); 422 with a list of findings for a contract violation."""
        if violation and not isinstance(details, list):
            details = [{"loc": ["request"], "msg": message, "type": "value_error"}]
        if status == 422 and details is not None:
            return {"detail": details}
        return {"detail": HTTPStatus(status).phrase if code.isupper() else code}

    def headers(self, status: int) -> dict[str, str]:
        """``WWW-Authenticate: Basic realm="vertebro"`` on 401."""
        return {"WWW-Authenticate": CHALLENGE} if status == 401 else {}
