"""The request pipeline: one HTTP request through its compiled operation and back.

route (404 / 405 with ``Allow``) → security (401/403) → parameters (the API's validation status)
→ body: size limit (413), media type (415), strict JSON (:mod:`core.jsontext`) or form/multipart
parsing, schema validation (the API's validation status) → the handler (bound by
:func:`gateway.binding.bind`) → response validation (``VALIDATE_RESPONSES``: the status is
declared, the media type is declared for it, a JSON body satisfies its schema; a violation is
logged and answered 500) → the response. Every error is rendered in the API's envelope by
:class:`gateway.errors.ErrorRenderer`.

Paths that are not operations (the documents, Swagger UI) go to ``fallback``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.storage.database import StorageUnavailable
from core.jsontext import JSONRejected
from core.jsontext import loads as strict_json
from gateway.errors import ErrorRenderer, Violation
from gateway.operations import FORM, JSON, MULTIPART, BodyMedia, Operation
from gateway.outage import outage_error
from gateway.parameters import ParameterError, coerce, pythonic, read_parameters
from gateway.routing import MethodNotAllowed, Router
from handlers.errors import ApiError
from handlers.request import BufferedReceive, bind_request, unbind_request

logger = logging.getLogger("gateway.pipeline")


class PayloadTooLarge(Exception):
    """The request body is larger than the configured limit."""


class Pipeline:
    """ASGI app serving the compiled operations (``fallback`` serves every other path)."""

    def __init__(self, operations: list[Operation], renderer: ErrorRenderer, fallback: ASGIApp, *,
                 max_body_bytes: int, validate_responses: bool, fallback_prefixes: tuple[str, ...]) -> None:
        self.router: Router[Operation] = Router((op.template, op.method, op) for op in operations)
        self.renderer = renderer
        self.fallback = fallback
        self.max_body_bytes = max_body_bytes
        self.validate_responses = validate_responses
        self.fallback_prefixes = fallback_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        routed = self.router.route(scope["method"], path)
        if routed is None:
            if path.startswith(self.fallback_prefixes):
                await self.fallback(scope, receive, send)
                return
            response = self.renderer.for_path(path, ApiError(404, "NOT_FOUND", "The requested URL was not found on "
                                                             "the server."))
        elif isinstance(routed, MethodNotAllowed):
            response = self.renderer.for_path(path, ApiError(
                405, "METHOD_NOT_ALLOWED", "The method is not allowed for the requested URL.",
                headers={"Allow": ", ".join(routed.allowed)}))
        else:
            operation = routed.target
            buffered = BufferedReceive(receive)
            token = bind_request(scope, buffered)
            try:
                response = await self._serve(operation, routed.path_params, scope, buffered)
            except ApiError as exc:
                response = self.renderer.for_operation(operation, exc)
            except StorageUnavailable as exc:  # 503 with Retry-After, never a 500 (gateway/outage.py)
                response = self.renderer.for_operation(operation, outage_error(scope["method"], path, exc))
            except Violation as exc:
                response = self.renderer.violation(operation, exc)
            except PayloadTooLarge:
                response = self.renderer.for_operation(operation, ApiError(
                    413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {self.max_body_bytes} bytes"))
            except Exception as exc:  # noqa: BLE001 - any bug is a logged 500 in the API's envelope, never a hang
                logger.error("unhandled error in %s (%s %s)", operation.operation_id, scope["method"], path,
                             exc_info=exc)
                response = self.renderer.for_operation(operation, ApiError(500, "INTERNAL_ERROR",
                                                                           "Internal server error"))
            try:  # a streamed body may still read the request (e.g. is_disconnected)
                await response(scope, buffered, send)
            finally:
                unbind_request(token)
            return
        await response(scope, receive, send)

    async def _serve(self, operation: Operation, path_params: dict[str, str], scope: Scope,
                     receive: BufferedReceive) -> Response:
        headers = _headers(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        token_info = await operation.security.authenticate(headers, query)
        try:
            arguments = read_parameters(operation.parameters, path_params, query, headers)
        except ParameterError as exc:
            raise Violation(exc.message, [(exc.location, exc.name)], f"{exc.name}: {exc.message}") from None
        if operation.body is not None:
            arguments.update(await self._body(operation, headers, receive))
        if token_info is not None:
            arguments["token_info"] = token_info
            arguments["user"] = token_info.get("sub", token_info.get("uid"))
        if not operation.has_kwargs:
            arguments = {k: v for k, v in arguments.items() if k in operation.arguments}
        response: Response = await operation.handler(**arguments)
        if self.validate_responses:
            self._check_response(operation, response)
        return response

    async def _read(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError(400, "VALIDATION_ERROR", "The client disconnected before the body was complete")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _body(self, operation: Operation, headers: Mapping[str, str],
                    receive: BufferedReceive) -> dict[str, Any]:
        spec = operation.body
        assert spec is not None
        raw = await self._read(headers, receive)
        receive.keep(raw)  # a handler may still read the exact bytes (request.body())
        content_type = headers.get("content-type")
        if not raw and content_type is None:
            if spec.required:
                raise Violation("RequestBody is required", [("body",)], "RequestBody is required")
            media = next(iter(spec.media.values()), None)
            default = media.default if media is not None and media.default is not None else {}
            return {spec.argument: default} if spec.argument in operation.arguments else {}
        media = spec.select(content_type)
        if media is None:
            offered = ", ".join(spec.media)
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                           f"Invalid Content-type ({content_type}), expected one of: {offered}")
        if media.kind == JSON:
            if not raw:
                if spec.required:
                    raise Violation("RequestBody is required", [("body",)], "RequestBody is required")
                return {spec.argument: media.default if media.default is not None else {}}
            try:
                value = strict_json(raw)
            except JSONRejected as exc:
                raise ApiError(400, "VALIDATION_ERROR", f"Request body is not strict JSON: {exc.reason}") from None
            _validate(media, value)
            return {spec.argument: value}
        if media.kind == FORM:
            pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
            form = FormData(pairs)
            fields = _form_fields(media, form)
            _validate(media, fields)
            return {spec.argument: fields}
        if media.kind == MULTIPART:
            return await self._multipart(operation, media, headers, raw)
        return {spec.argument: raw}

    async def _multipart(self, operation: Operation, media: BodyMedia, headers: Mapping[str, str],
                         raw: bytes) -> dict[str, Any]:
        async def stream() -> AsyncGenerator[bytes, None]:
            yield raw

        try:
            form = await MultiPartParser(Headers(headers), stream()).parse()
        except MultiPartException as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"Malformed multipart body: {exc.message}") from None
        fields = _form_fields(media, form)
        checked = dict(fields)
        files: dict[str, list[UploadFile]] = {}
        for key in form:
            values = form.getlist(key)
            if key in media.files or any(isinstance(v, UploadFile) for v in values):
                files[key] = [v for v in values if isinstance(v, UploadFile)]
                many = media.files.get(key, True) or len(values) > 1
                checked[key] = [""] * len(values) if many else ""
        _validate(media, checked)
        arguments: dict[str, Any] = {operation.body.argument if operation.body else "body": fields}
        for key, uploads in files.items():
            prop = media.properties.get(key, {})
            arguments[pythonic(key)] = uploads if prop.get("type") == "array" else (uploads[0] if uploads else None)
        return arguments

    def _check_response(self, operation: Operation, response: Response) -> None:
        spec = operation.response_spec(response.status_code)
        if spec is None:
            raise ResponseViolation(f"{operation.operation_id} answered {response.status_code}, "
                                    "a status its contract does not declare")
        media_type = (response.media_type or response.headers.get("content-type", "")).split(";", 1)[0].lower()
        if not spec.media:
            if getattr(response, "body", b""):
                raise ResponseViolation(f"{operation.operation_id} {response.status_code}: the contract declares "
                                        "no body")
            return
        if media_type not in spec.media and not any(m.endswith("/*") and media_type.startswith(m[:-1])
                                                    for m in spec.media):
            raise ResponseViolation(f"{operation.operation_id} {response.status_code}: media type {media_type!r} "
                                    f"is not declared ({', '.join(spec.media)})")
        validator = spec.media.get(media_type)
        if validator is None:
            return
        data = getattr(response, "json_data", _UNSET)
        if data is _UNSET:
            body = getattr(response, "body", None)
            if not isinstance(body, (bytes, bytearray)):
                return  # a streamed JSON body: its media type is all that can be checked
            data = json.loads(body)
        findings = validator.findings(data, limit=3)
        if findings:
            raise ResponseViolation(f"{operation.operation_id} {response.status_code} body breaks the contract: "
                                        + "; ".join(f"{f.where('body')}: {f.message}" for f in findings))


_UNSET = object()


class ResponseViolation(RuntimeError):
    """The server's own response breaks the contract (a bug: answered 500 and logged)."""


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers, names lower-cased (a repeated header: its values joined by ``, ``)."""
    out: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out


def _form_fields(media: BodyMedia, form: FormData) -> dict[str, Any]:
    """Non-file form fields, coerced by their property's schema (arrays from repeated fields)."""
    fields: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if not values or key in media.files:
            continue
        prop = media.properties.get(key, {})
        if prop.get("type") == "array":
            kind = (prop.get("items") or {}).get("type")
            fields[key] = [_coerced(v, kind) for v in values]
        else:
            fields[key] = _coerced(values[-1], prop.get("type"))
    return fields


def _coerced(text: str, kind: Any) -> Any:
    try:
        return coerce(text, kind if isinstance(kind, str) else None)
    except ValueError:
        return text  # validation reports the type error


def _validate(media: BodyMedia, value: Any) -> None:
    findings = media.validator.findings(value)
    if findings:
        first = findings[0]
        raise Violation(first.message, [("body", *f.path) for f in findings],
                        f"{first.where('body')}: {first.message}" if first.path else first.message,
                        [f.message for f in findings])


def request_of(scope: Scope, receive: Receive) -> Request:
    """A Starlette request over ``scope`` (for the fallback app and tests)."""
    return Request(scope, receive)
