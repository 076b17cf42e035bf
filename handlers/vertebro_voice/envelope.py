"""SiteLLM Vertebro Voice's FastAPI-style errors: ``{detail: <snake_case code>}``; validation
failures ``{detail: [{loc, msg, type}]}`` (422); a Basic challenge on every 401."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from handlers.errors import ApiError

CHALLENGE = 'Basic realm="vertebro"'


def validation_error(loc: Sequence[str | int], msg: str) -> ApiError:
    """A 422 ``{detail: [{loc, msg, type: value_error}]}`` for a rule the schema cannot express
    (``loc`` as FastAPI writes it, e.g. ``["body", "project"]``)."""
    return ApiError(400, "VALIDATION_ERROR", msg,
                    details={"errors": [{"loc": list(loc), "msg": msg, "type": "value_error"}]})


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: what a free-form object costs to store."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))


def limit_json(value: Any, limit: int, loc: Sequence[str | int]) -> None:
    """422 (``validation_error`` at ``loc``) when ``value`` is larger than ``limit`` bytes as compact
    JSON: the contract's byte limits on free-form objects (``metadata``, ``options``) that a schema
    cannot state."""
    if value and json_size(value) > limit:
        raise validation_error(loc, f"must be at most {limit} bytes as JSON")


def _findings(details: Any, message: str) -> list[dict[str, Any]]:
    """FastAPI ``{loc, msg, type}`` items from an error's ``details``: a list of them, or the
    ``{"errors": [{loc, msg[, type]}]}`` that :func:`handlers.errors.parse_request` and
    :func:`validation_error` give; otherwise one item about the whole request."""
    if isinstance(details, dict) and isinstance(details.get("errors"), list):
        details = details["errors"]
    if isinstance(details, list) and details and all(isinstance(d, dict) for d in details):
        return [{"loc": list(d.get("loc") or ["request"]), "msg": str(d.get("msg", message)),
                 "type": str(d.get("type", "value_error"))} for d in details]
    return [{"loc": ["request"], "msg": message, "type": "value_error"}]


class VertebroEnvelope:
    """``HTTPError`` / ``HTTPValidationError`` of specs/vertebro-voice."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The error body: the contract's snake_case code as ``detail`` (the HTTP phrase for the
        gateway's own upper-case codes); 422 with a list of findings for a contract violation."""
        if violation:
            return {"detail": _findings(details, message)}
        if status == 422 and isinstance(details, list):
            return {"detail": details}
        return {"detail": HTTPStatus(status).phrase if code.isupper() else code}

    def headers(self, status: int) -> dict[str, str]:
        """``WWW-Authenticate: Basic realm="vertebro"`` on 401."""
        return {"WWW-Authenticate": CHALLENGE} if status == 401 else {}
