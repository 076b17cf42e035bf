"""Every error leaves the server in the calling API's own envelope.

The API of a request is the routed operation's (connexion's routing puts the operationId in
the scope), else the API that owns the path in the contract (:meth:`Contract.api_owning`);
its plugin's :class:`~handlers.plugin.ErrorEnvelope` renders the body and adds its headers. A
path no API owns gets an RFC 9457 problem (``application/problem+json``).

Connexion's own problems (validation, auth, media type), Starlette's HTTP errors (404, 405),
handler :class:`~handlers.errors.ApiError` and unexpected exceptions (500, logged) all pass
through :meth:`ErrorRenderer.render`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from gateway.contract import ApiInfo, Contract
from handlers.errors import ApiError
from handlers.plugin import ApiPlugin

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
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}


def problem(status: int, message: str) -> dict[str, Any]:
    """The RFC 9457 body for a request no API owns."""
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": message}


class ErrorRenderer:
    """Connexion error handlers bound to the contract and the APIs' plugins (by namespace)."""

    def __init__(self, contract: Contract, plugins: Mapping[str, ApiPlugin[Any]]) -> None:
        self.contract = contract
        self.plugins = plugins

    def api_of(self, request: ConnexionRequest) -> ApiInfo | None:
        """The API the request reached: its routed operation's, else the path's owner (or None)."""
        routing = request.scope.get("extensions", {}).get("connexion_routing", {})
        operation_id = routing.get("operation_id")
        if operation_id:
            return self.contract.split(operation_id)[0]
        return self.contract.api_owning(request.url.path)

    def render(self, request: ConnexionRequest, status: int, code: str, message: str, details: Any = None,
               headers: Mapping[str, str] | None = None, *, contract_violation: bool = False) -> ConnexionResponse:
        """The response for one error. ``contract_violation`` marks a request that broke the
        contract (connexion's validation): it gets the API's own validation status."""
        api = self.api_of(request)
        out_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        if api is None:
            return ConnexionResponse(status_code=status, mimetype="application/problem+json",
                                     body=json.dumps(problem(status, message)), headers=out_headers)
        plugin = self.plugins[api.namespace]
        if contract_violation:
            status = plugin.validation_status
            code = STATUS_CODES[status]
        body = plugin.envelope.body(status, code, message, details, violation=contract_violation)
        for name, value in plugin.envelope.headers(status).items():
            out_headers.setdefault(name, value)
        return ConnexionResponse(status_code=status, mimetype="application/json", body=json.dumps(body),
                                 headers=out_headers)

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
