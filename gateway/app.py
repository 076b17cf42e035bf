"""The application factory: connexion AsyncApp over ``generated/openapi.yaml``, the APIs' plugins.

Request path: uvicorn → :class:`GatewayApp` (makes this server's API bundles current; routes
WebSocket handshakes) → connexion (exception handling → routing → security → BodyGuard →
request validation → response validation) → the handler bound by
:class:`gateway.resolver.OperationResolver` (wrapped by :func:`gateway.binding.bind`) →
adapters. See ARCHITECTURE.md. Nothing here names an API: the contract lists them, their
plugins say how each renders errors, checks credentials and builds its adapters.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from connexion import AsyncApp
from connexion.decorators.parameter import pythonic
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from adapters.storage.database import StorageUnavailable
from core.settings import Settings, get_settings
from gateway.body_guard import BodyGuardMiddleware
from gateway.contract import Contract, load_json_yaml
from gateway.errors import ErrorRenderer
from gateway.outage import outage_handler
from gateway.plugins import load_plugins
from gateway.resolver import OperationResolver
from handlers.errors import ApiError
from handlers.plugin import ApiPlugin, activate, deactivate, install
from handlers.services import Services

SCHEME_HOOKS = {"bearer": "x-bearerInfoFunc", "basic": "x-basicInfoFunc"}
API_KEY_HOOK = "x-apikeyInfoFunc"
FALLBACK = {"x-bearerInfoFunc": "gateway.fallback_security.any_bearer",
            "x-basicInfoFunc": "gateway.fallback_security.any_basic",
            "x-apikeyInfoFunc": "gateway.fallback_security.any_api_key"}


def _dotted(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def runtime_specification(contract: Contract, plugins: Mapping[str, ApiPlugin[Any]]) -> dict[str, Any]:
    """The merged document with connexion's security hooks bound to each plugin's functions.

    The committed ``generated/openapi.yaml`` stays free of implementation names; the hooks
    exist only in this in-memory copy. A scheme only pending operations use gets a fallback
    that accepts credentials of the right shape (those operations answer 501 anyway).
    """
    spec = copy.deepcopy(contract.document)
    for name, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
        namespace, local = name.split(".", 1)
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() in SCHEME_HOOKS:
            hook = SCHEME_HOOKS[str(scheme["scheme"]).lower()]
        elif scheme.get("type") == "apiKey":
            hook = API_KEY_HOOK
        else:
            continue
        function = plugins[namespace].security.get(local)
        scheme[hook] = _dotted(function) if function is not None else FALLBACK[hook]
    return spec


def _docs_routes(app: AsyncApp, contract: Contract) -> None:
    """Serve the merged document and each API's own document, as JSON and YAML."""
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


def _websocket_endpoint(handler: Callable[..., Any]) -> Callable[[WebSocket], Any]:
    async def endpoint(websocket: WebSocket) -> None:
        await handler(websocket, **{pythonic(k): v for k, v in websocket.path_params.items()})

    return endpoint


class GatewayApp:
    """The ASGI application: this server's bundles current in every scope, WebSocket
    operations routed to their handlers, everything else (HTTP, lifespan) to connexion.

    Attributes for operators and tests: ``contract``, ``services`` (the shared adapters),
    ``plugins`` (``{namespace: ApiPlugin}``) and ``bundles`` (``{api name: bundle}``).
    """

    def __init__(self, http: AsyncApp, websockets: Router, contract: Contract, services: Services,
                 plugins: Mapping[str, ApiPlugin[Any]], bundles: Mapping[str, Any]) -> None:
        self.http = http
        self.websockets = websockets
        self.contract = contract
        self.services = services
        self.plugins = plugins
        self.bundles = bundles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = activate(self.bundles)
        try:
            if scope["type"] == "websocket":
                await self.websockets(scope, receive, send)
            else:
                await self.http(scope, receive, send)
        finally:
            deactivate(token)


def create_app(settings: Settings | None = None, contract: Contract | None = None) -> GatewayApp:
    """Build the server: migrate the database, build every API's bundle, bind every operation.

    ``contract`` defaults to the committed ``generated/`` tree.

    Raises :class:`gateway.resolver.UnboundOperation` when an operation that is not pending has
    no handler function, :class:`gateway.plugins.PluginMismatch` when a plugin disagrees with
    the contract.
    """
    settings = settings or get_settings()
    contract = contract or Contract()
    plugins = load_plugins(contract)
    services = Services.build(settings)
    services.db.migrate()
    bundles = {plugin.name: plugin.build(services) for plugin in plugins.values()}
    install(bundles)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        started: list[ApiPlugin[Any]] = []
        try:
            for plugin in plugins.values():  # each API's background work (workers, cleaners)
                if plugin.on_startup is not None:
                    await plugin.on_startup(bundles[plugin.name])
                started.append(plugin)
            yield
        finally:
            for plugin in reversed(started):
                if plugin.on_shutdown is not None:
                    await plugin.on_shutdown(bundles[plugin.name])
            await services.stop()
            services.close()

    http = AsyncApp(
        __name__,
        lifespan=lifespan,
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False, swagger_ui=True, swagger_ui_path="/docs", spec_path="/openapi.json"
        ),
    )
    http.add_middleware(BodyGuardMiddleware, MiddlewarePosition.BEFORE_VALIDATION,
                        max_body_bytes=settings.max_body_bytes)
    resolver = OperationResolver(contract)
    http.add_api(
        runtime_specification(contract, plugins),
        base_path="",
        resolver=resolver,
        pythonic_params=True,
        validate_responses=settings.validate_responses,
        strict_validation=False,
    )
    renderer = ErrorRenderer(contract, plugins)
    http.add_error_handler(ProblemException, renderer.problem)
    http.add_error_handler(HTTPException, renderer.problem)
    http.add_error_handler(ApiError, renderer.api_error)
    http.add_error_handler(StorageUnavailable, outage_handler(renderer))  # 503, never 500 (gateway/outage.py)
    http.add_error_handler(Exception, renderer.unexpected)
    _docs_routes(http, contract)
    # WebSocket handshakes never reach connexion; the plain-HTTP side of each operation answers 426.
    websockets = Router([WebSocketRoute(path, _websocket_endpoint(handler))
                         for path, handler in resolver.websocket_routes()])
    return GatewayApp(http, websockets, contract, services, plugins, bundles)
