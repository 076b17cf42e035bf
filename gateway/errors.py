"""Every error leaves the server in the calling API's own envelope.

The API of a request is its operation's (the pipeline routed it), else the API that owns the
path in the contract (:meth:`Contract.api_owning`); its plugin's
:class:`~handlers.plugin.ErrorEnvelope` renders the body and adds its headers. A path no API
owns gets an RFC 9457 problem (``application/problem+json``).

A request that breaks the contract (:class:`Violation`, or a handler's 400 ``VALIDATION_ERROR``)
is answered with the API's own validation status (400, or 422 for FastAPI-style APIs) and the
findings as ``details`` (``[{loc, msg, type}]``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

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


class Violation(Exception):
    """A request that breaks the contract: ``message`` (a sentence), ``locations`` (e.g.
    ``("body", "agent_settings", "identity")``, ``("query", "limit")``), one per finding, and
    their ``messages``."""

    def __init__(self, message: str, locations: list[tuple[Any, ...]], summary: str | None = None,
                 messages: list[str] | None = None) -> None:
        super().__init__(summary or message)
        self.message = summary or message
        self.locations = locations
        self.messages = messages or [message] * len(locations)


def problem(status: int, message: str) -> dict[str, Any]:
    """The RFC 9457 body for a request no API owns."""
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": message}


class ErrorRenderer:
    """Renders errors for the contract's APIs, with their plugins' envelopes (by namespace)."""

    def __init__(self, contract: Contract, plugins: Mapping[str, ApiPlugin[Any]]) -> None:
        self.contract = contract
        self.plugins = plugins

    def response(self, api: ApiInfo | None, status: int, code: str, message: str, details: Any = None,
                 headers: Mapping[str, str] | None = None, *, violation: bool = False) -> Response:
        """The error response of ``api`` (an RFC 9457 problem when None)."""
        out_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        if api is None:
            return Response(json.dumps(problem(status, message)), status, out_headers,
                            media_type="application/problem+json")
        plugin = self.plugins[api.namespace]
        if violation:
            status = plugin.validation_status
            code = STATUS_CODES[status]
        body = plugin.envelope.body(status, code, message, details, violation=violation)
        for name, value in plugin.envelope.headers(status).items():
            out_headers.setdefault(name, value)
        return Response(json.dumps(body), status, out_headers, media_type="application/json")

    def error(self, api: ApiInfo | None, exc: ApiError) -> Response:
        """An :class:`ApiError` (a handler's 400 ``VALIDATION_ERROR`` is a contract violation)."""
        if exc.status >= 500:
            logger.warning("%s answered %s %s: %s", api.name if api else "gateway", exc.status, exc.code, exc.message)
        violation = exc.status == 400 and exc.code == "VALIDATION_ERROR"
        details = exc.details
        if violation and isinstance(details, dict) and isinstance(details.get("errors"), list):
            details = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": "value_error"}
                       for e in details["errors"]]
        return self.response(api, exc.status, exc.code, exc.message, details, exc.headers, violation=violation)

    def for_operation(self, operation: Any, exc: ApiError) -> Response:
        """An error of a routed operation (``operation.api``)."""
        return self.error(operation.api, exc)

    def for_path(self, path: str, exc: ApiError) -> Response:
        """An error of a request no operation matched: the path's owning API, if any."""
        return self.error(self.contract.api_owning(path), exc)

    def violation(self, operation: Any, exc: Violation) -> Response:
        """A contract violation of a routed operation."""
        details = [{"loc": list(loc), "msg": msg, "type": "value_error"}
                   for loc, msg in zip(exc.locations, exc.messages, strict=False)]
        return self.response(operation.api, 400, "VALIDATION_ERROR", exc.message, details, violation=True)
