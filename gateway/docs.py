"""The documents and Swagger UI: a connexion app, built on the first request that needs it.

The merged document (``/openapi.json``, ``/openapi.yaml``), each API's own document
(``/openapi/<api>.json|yaml``) and Swagger UI (``/docs/``) are served by a connexion
``AsyncApp`` that carries no operations (the pipeline serves those). Importing and building
connexion costs about a second, so :class:`LazyDocs` does it in a worker thread on the first
request for one of these paths, never at start-up. Errors on these paths leave in the envelope
of the API owning the path (usually none: an RFC 9457 problem), like every other error.

The UI at ``/docs/`` opens the merged ``/openapi.json`` and offers, in its top bar, each API's
own document (:func:`document_urls`), whose ``servers`` start with the API's mount on this
deployment, so "Try it out" calls this server. Nothing here names an API: the contract lists them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.contract import Contract, load_json_yaml
from gateway.errors import STATUS_CODES, ErrorRenderer
from handlers.errors import ApiError

logger = logging.getLogger("gateway.docs")

MERGED = "All APIs (merged)"


def document_urls(contract: Contract) -> list[dict[str, str]]:
    """``[{url, name}]`` of the merged document, then each API's own (in the contract's order)."""
    return [{"url": "/openapi.json", "name": MERGED}] + [
        {"url": f"/openapi/{api.name}.json", "name": api.title} for api in contract.apis.values()
    ]


def swagger_ui_options(contract: Contract) -> Any:
    """connexion's ``SwaggerUIOptions``: served at ``/docs``, listing :func:`document_urls`
    (imports connexion)."""
    from connexion.options import SwaggerUIOptions

    config: dict[str, Any] = {"urls": document_urls(contract), "urls.primaryName": MERGED}
    return SwaggerUIOptions(serve_spec=False, swagger_ui=True, swagger_ui_path="/docs", spec_path="/openapi.json",
                            swagger_ui_config=config)


def build_docs_app(contract: Contract, renderer: ErrorRenderer) -> ASGIApp:
    """A connexion AsyncApp serving Swagger UI and the documents (imports connexion)."""
    from connexion import AsyncApp
    from connexion.exceptions import ProblemException
    from connexion.lifecycle import ConnexionRequest, ConnexionResponse

    def as_connexion(response: Response) -> ConnexionResponse:
        return ConnexionResponse(status_code=response.status_code, mimetype=response.media_type,
                                 body=bytes(response.body), headers={k: v for k, v in response.headers.items()
                                                                     if k.lower() not in ("content-length",
                                                                                          "content-type")})

    async def problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        if isinstance(exc, ProblemException):
            status, detail, headers = exc.status, exc.detail or exc.title, exc.headers
        elif isinstance(exc, HTTPException):
            status, detail, headers = exc.status_code, exc.detail, exc.headers
        else:  # pragma: no cover - registered for the two types above only
            return await unexpected(request, exc)
        error = ApiError(status, STATUS_CODES.get(status, "ERROR"), str(detail), headers=dict(headers or {}))
        return as_connexion(renderer.for_path(request.url.path, error))

    async def unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError(500, "INTERNAL_ERROR", "Internal server error")
        return as_connexion(renderer.for_path(request.url.path, error))

    app = AsyncApp(__name__, swagger_ui_options=swagger_ui_options(contract))
    app.add_api({"openapi": "3.0.3", "info": contract.document["info"], "paths": {}}, base_path="")
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, problem)
    app.add_error_handler(Exception, unexpected)
    merged_json = json.dumps(contract.document)

    async def merged(request: Request) -> Response:
        if request.url.path.endswith(".yaml"):
            return Response(contract.text, media_type="application/yaml")
        return Response(merged_json, media_type="application/json")

    async def single(request: Request) -> Response:
        name, _, ext = request.path_params["document"].rpartition(".")
        text = contract.api_document_text(name)
        if text is None or ext not in ("json", "yaml"):
            raise HTTPException(404, f"No API document named {request.path_params['document']!r}")
        if ext == "yaml":
            return Response(text, media_type="application/yaml")
        return Response(json.dumps(load_json_yaml(text)), media_type="application/json")

    app.add_url_rule("/openapi.json", "openapi_json", merged, methods=["GET"])
    app.add_url_rule("/openapi.yaml", "openapi_yaml", merged, methods=["GET"])
    app.add_url_rule("/openapi/{document}", "openapi_api", single, methods=["GET"])
    built: ASGIApp = app
    return built


class LazyDocs:
    """ASGI app building :func:`build_docs_app` in a worker thread on its first request."""

    def __init__(self, contract: Contract, renderer: ErrorRenderer) -> None:
        self.contract = contract
        self.renderer = renderer
        self._app: ASGIApp | None = None
        self._lock: asyncio.Lock | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._app is None:
                    self._app = await anyio.to_thread.run_sync(build_docs_app, self.contract, self.renderer)
        await self._app(scope, receive, send)
