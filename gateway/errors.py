"""Every error leaves the server in the calling API's own envelope.

Envelopes (from each contract):
- Virtual Banker ``ErrorResponse``: ``{success: false, error: {code, message, details}, timestamp}``
- Virstack ``ErrorResponse``: ``{success: false, code: <status>, error: <message>, data: null}``
- ServiceAi ``ErrorEnvelope``: ``{error: {code, message, details?}}``
- Vertebro (FastAPI style): ``{detail: <code>}``; validation failures ``{detail: [{loc, msg, type}]}``

Connexion's own problems (validation, auth, media type), Starlette's HTTP errors
(404, 405), handler :class:`~handlers.errors.ApiError` and unexpected exceptions
(500, logged) all pass through :func:`error_response`.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from core.clock import isoformat, utcnow
from gateway.contract import ApiInfo, Contract
from handlers.errors import ApiError

logger = logging.getLogger("gateway.errors")

STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    426: "UPGRADE_REQUIRED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}


def envelope(api: ApiInfo | None, status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error body for ``api`` (Virtual Banker's when the API is unknown)."""
    ns = api.namespace if api else "vb"
    if ns == "virstack":
        return {"success": False, "code": status, "error": message, "data": None}
    if ns == "serviceai":
        error: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            error["details"] = details
        return {"error": error}
    if ns == "vertebro":
        if status == 422 and details is not None:
            return {"detail": details}
        return {"detail": HTTPStatus(status).phrase if code.isupper() else code}
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details if isinstance(details, dict) else {}},
        "timestamp": isoformat(utcnow()),
    }


class ErrorRenderer:
    """Connexion error handler bound to the contract (to find which API a request hit)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def api_of(self, request: ConnexionRequest) -> ApiInfo | None:
        routing = request.scope.get("extensions", {}).get("connexion_routing", {})
        operation_id = routing.get("operation_id")
        if operation_id:
            return self.contract.split(operation_id)[0]
        return self.contract.api_for_path(request.url.path)

    def render(self, request: ConnexionRequest, status: int, code: str, message: str, details: Any = None,
               headers: dict[str, str] | None = None, *, contract_violation: bool = False) -> ConnexionResponse:
        """The response for one error. ``contract_violation`` marks a request that broke the
        contract (connexion's validation): it gets the API's own validation status."""
        api = self.api_of(request)
        if api and contract_violation:
            status = api.validation_status
            code = STATUS_CODES[status]
            if api.namespace == "vertebro" and not isinstance(details, list):
                details = [{"loc": ["request"], "msg": message, "type": "value_error"}]
        body = envelope(api, status, code, message, details)
        out_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        if api and api.namespace == "vertebro" and status == 401:
            out_headers.setdefault("WWW-Authenticate", 'Basic realm="vertebro"')
        return ConnexionResponse(
            status_code=status, mimetype="application/json", body=json.dumps(body), headers=out_headers
        )

    async def problem(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        """Handler for connexion ProblemException and Starlette HTTPException."""
        if isinstance(exc, ProblemException):
            status, detail, headers = exc.status, exc.detail or exc.title, exc.headers
        elif isinstance(exc, HTTPException):
            status, detail, headers = exc.status_code, exc.detail, exc.headers
        else:  # pragma: no cover - registered for the two types above only
            return await self.unexpected(request, exc)
        if status >= 500:
            logger.error("server problem on %s %s: %r", request.method, request.url.path, exc)
        if status == 500:
            detail = "Internal server error"
        if status == 405:
            allowed = self.contract.allowed_methods(request.url.path)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)} if allowed else headers
        return self.render(request, status, STATUS_CODES.get(status, "ERROR"), str(detail), headers=headers,
                           contract_violation=status == 400)

    async def api_error(self, request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
        """Handler for handler-raised :class:`ApiError`."""
        violation = exc.status == 400 and exc.code == "VALIDATION_ERROR"
        return self.render(request, exc.status, exc.code, exc.message, exc.details, exc.headers,
                           contract_violation=violation)

    async def unexpected(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        """Any other exception: logged with its traceback, answered 500 in the API's envelope."""
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return self.render(request, 500, "INTERNAL_ERROR", "Internal server error")
