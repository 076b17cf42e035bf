"""ASGI middleware that rejects malformed request bodies before validation sees them.

Stock connexion answers 500 for a JSON body that is not valid UTF-8. This guard runs
after routing and security and before request validation: it enforces
``MAX_BODY_BYTES`` (413), and for JSON media types checks that the body is strict JSON
(:func:`core.jsontext.loads`: UTF-8, no ``NaN``/``Infinity`` or out-of-range numbers, no lone
surrogates, nesting at most :data:`core.jsontext.MAX_DEPTH` levels) — 400 otherwise; a malformed
multipart body (no boundary, broken part headers) is a 400 too. The buffered body is then
replayed to the rest of the stack.

A body sent with ``Transfer-Encoding: chunked`` (no ``Content-Length``) is buffered — still
cut off at ``MAX_BODY_BYTES`` — and handed on with its real ``Content-Length``, because the
validators downstream decide whether a body is present from that header alone.
"""

from __future__ import annotations

from connexion.exceptions import BadRequestProblem, ProblemException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.jsontext import JSONRejected, loads

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class PayloadTooLarge(ProblemException):  # type: ignore[misc]  # connexion ships no type information
    """413: the request body is larger than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(status=413, title="Payload Too Large", detail=f"Request body exceeds {limit} bytes")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyGuardMiddleware:
    """Buffers, size-checks and (for JSON) decodes the request body once."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 32 * 1024 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(self.max_body_bytes)
        is_json = _is_json(headers.get("content-type", ""))
        if not is_json and declared is not None:
            try:
                await self.app(scope, self._limited(receive), send)
            except MultiPartException as exc:  # e.g. multipart/form-data without a boundary: not a 500
                raise BadRequestProblem(detail=f"Malformed multipart body: {exc.message}") from None
            return
        body = await self._buffer(receive)
        if body is None:  # the client went away
            return
        if declared is None:  # chunked: downstream sees the body's real length
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k.lower() not in (b"content-length", b"transfer-encoding")]
                     + [(b"content-length", str(len(body)).encode("latin-1"))]}
        if is_json and body:
            try:
                loads(body)
            except JSONRejected as exc:
                raise BadRequestProblem(detail=f"Request body is not strict JSON: {exc.reason}") from None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, send)
        except MultiPartException as exc:
            raise BadRequestProblem(detail=f"Malformed multipart body: {exc.message}") from None

    async def _buffer(self, receive: Receive) -> bytes | None:
        """The whole body (413 past the limit), or None when the client disconnects first."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(self.max_body_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _limited(self, receive: Receive) -> Receive:
        """Wrap ``receive`` so a streamed non-JSON body is cut off past the limit."""
        size = 0

        async def wrapped() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    raise PayloadTooLarge(self.max_body_bytes)
            return message

        return wrapped
