"""The application factory: the lean operation pipeline over ``generated/openapi.yaml``, the APIs' plugins.

Request path: uvicorn → :class:`GatewayApp` (makes this server's API bundles current; routes
WebSocket handshakes; runs the lifespan) → :class:`gateway.pipeline.Pipeline` (routing →
security → parameters → body → the handler bound by :class:`gateway.resolver.OperationResolver`,
wrapped by :func:`gateway.binding.bind` → response validation) → adapters. Swagger UI and the
documents come from a connexion app built on their first request (:mod:`gateway.docs`). See
ARCHITECTURE.md. Nothing here names an API: the contract lists them, their plugins say how each
renders errors, checks credentials and builds its adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.routing import Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from core import heap
from core.settings import Settings, get_settings
from gateway.contract import Contract
from gateway.docs import LazyDocs
from gateway.errors import ErrorRenderer
from gateway.operations import compile_operations
from gateway.parameters import pythonic
from gateway.pipeline import Pipeline
from gateway.plugins import load_plugins
from gateway.resolver import OperationResolver
from gateway.schemas import SchemaSet
from handlers.plugin import ApiPlugin, activate, deactivate, install
from handlers.services import Services


def _websocket_endpoint(handler: Callable[..., Any]) -> Callable[[WebSocket], Any]:
    async def endpoint(websocket: WebSocket) -> None:
        await handler(websocket, **{pythonic(k): v for k, v in websocket.path_params.items()})

    return endpoint


class GatewayApp:
    """The ASGI application: this server's bundles current in every scope, WebSocket
    operations routed to their handlers, HTTP to the pipeline, the lifespan (each plugin's
    ``on_startup``/``on_shutdown``) run here.

    Attributes for operators and tests: ``contract``, ``services`` (the shared adapters),
    ``plugins`` (``{namespace: ApiPlugin}``) and ``bundles`` (``{api name: bundle}``).
    """

    def __init__(self, http: Pipeline, websockets: Router, lifespan: ASGIApp, contract: Contract,
                 services: Services, plugins: Mapping[str, ApiPlugin[Any]], bundles: Mapping[str, Any]) -> None:
        self.http = http
        self.websockets = websockets
        self.lifespan = lifespan
        self.contract = contract
        self.services = services
        self.plugins = plugins
        self.bundles = bundles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = activate(self.bundles)
        try:
            if scope["type"] == "http":
                await self.http(scope, receive, send)
            elif scope["type"] == "websocket":
                await self.websockets(scope, receive, send)
            else:
                await self.lifespan(scope, receive, send)
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
            await services.start()  # the job consumer, once every API has declared its jobs
            if settings.gc_freeze:
                heap.freeze()  # what start-up built stays: out of the collector's walks (core/heap.py)
            yield
        finally:
            for plugin in reversed(started):
                if plugin.on_shutdown is not None:
                    await plugin.on_shutdown(bundles[plugin.name])
            await services.stop()
            services.close()

    renderer = ErrorRenderer(contract, plugins)
    resolver = OperationResolver(contract)
    schemas = SchemaSet(contract.document)
    operations = compile_operations(contract, plugins, schemas, resolver.resolve_function_from_operation_id)
    http = Pipeline(operations, renderer, LazyDocs(contract, renderer), max_body_bytes=settings.max_body_bytes,
                    validate_responses=settings.validate_responses, fallback_prefixes=("/docs", "/openapi"))
    # WebSocket handshakes are routed here; the plain-HTTP side of each operation answers 426.
    websockets = Router([WebSocketRoute(path, _websocket_endpoint(handler))
                         for path, handler in resolver.websocket_routes()])
    return GatewayApp(http, websockets, Router(lifespan=lifespan), contract, services, plugins, bundles)
