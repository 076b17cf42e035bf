"""The application factory: connexion AsyncApp over ``generated/openapi.yaml``.

Request path: uvicorn → connexion (exception handling → routing → security →
BodyGuard → request validation → response validation) → the handler bound by
:class:`gateway.resolver.OperationResolver` → adapters. See ARCHITECTURE.md.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
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

from core.settings import Settings, get_settings
from gateway.body_guard import BodyGuardMiddleware
from gateway.contract import Contract, load_json_yaml
from gateway.errors import ErrorRenderer
from gateway.resolver import OperationResolver
from handlers import deps
from handlers.errors import ApiError

logger = logging.getLogger("gateway")

SCHEME_HOOKS = {"bearer": ("x-bearerInfoFunc", "bearer_info"), "basic": ("x-basicInfoFunc", "basic_info")}
API_KEY_HOOK = ("x-apikeyInfoFunc", "api_key_info")


def _security_function(package: str, function: str, fallback: str) -> str:
    """Dotted name of ``<package>.security.<function>`` if it exists, else ``fallback``."""
    try:
        module = importlib.import_module(f"{package}.security")
    except ModuleNotFoundError:
        return fallback
    return f"{package}.security.{function}" if hasattr(module, function) else fallback


def runtime_specification(contract: Contract) -> dict[str, Any]:
    """The merged document with connexion's security hooks bound to each API's functions.

    The committed ``generated/openapi.yaml`` stays free of implementation names; the
    hooks exist only in this in-memory copy.
    """
    spec = copy.deepcopy(contract.document)
    for name, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
        api = contract.apis[name.split(".", 1)[0]]
        kind = str(scheme.get("scheme", "")).lower()
        if scheme.get("type") == "http" and kind in SCHEME_HOOKS:
            key, function = SCHEME_HOOKS[kind]
            scheme[key] = _security_function(api.package, function, f"gateway.fallback_security.any_{kind}")
        elif scheme.get("type") == "apiKey":
            key, function = API_KEY_HOOK
            scheme[key] = _security_function(api.package, function, "gateway.fallback_security.any_api_key")
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


def _websocket_endpoint(handler):
    async def endpoint(websocket):
        await handler(websocket, **{pythonic(k): v for k, v in websocket.path_params.items()})

    return endpoint


def create_app(settings: Settings | None = None) -> AsyncApp:
    """Build the server: migrate the database, install adapters, bind every operation.

    Raises :class:`gateway.resolver.UnboundOperation` when an operation that is not
    pending has no handler function.
    """
    settings = settings or get_settings()
    contract = Contract()
    services = deps.Services.build(settings)
    services.db.migrate()
    deps.install(services)

    packages = [importlib.import_module(api.package) for api in contract.apis.values()]

    @asynccontextmanager
    async def lifespan(_app):
        deps.install(services)
        await services.start()
        for package in packages:  # per-API background work (workers, cleaners)
            if hasattr(package, "on_startup"):
                await package.on_startup(services)
        try:
            yield
        finally:
            for package in reversed(packages):
                if hasattr(package, "on_shutdown"):
                    await package.on_shutdown(services)
            await services.stop()
            services.close()

    app = AsyncApp(
        __name__,
        lifespan=lifespan,
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False, swagger_ui=True, swagger_ui_path="/docs", spec_path="/openapi.json"
        ),
    )
    app.add_middleware(BodyGuardMiddleware, MiddlewarePosition.BEFORE_VALIDATION,
                       max_body_bytes=settings.max_body_bytes)
    resolver = OperationResolver(contract)
    app.add_api(
        runtime_specification(contract),
        base_path="",
        resolver=resolver,
        pythonic_params=True,
        validate_responses=settings.validate_responses,
        strict_validation=False,
    )
    renderer = ErrorRenderer(contract)
    app.add_error_handler(ProblemException, renderer.problem)
    app.add_error_handler(HTTPException, renderer.problem)
    app.add_error_handler(ApiError, renderer.api_error)
    app.add_error_handler(Exception, renderer.unexpected)
    _docs_routes(app, contract)
    # WebSocket handshakes pass through connexion's HTTP middleware untouched and reach the
    # inner Starlette router; the plain-HTTP side of each operation answers 426.
    for path, handler in resolver.websocket_routes():
        app._middleware_app.router.add_websocket_route(path, _websocket_endpoint(handler))
    app.contract = contract  # type: ignore[attr-defined]
    app.services = services  # type: ignore[attr-defined]
    return app
