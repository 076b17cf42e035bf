"""Raw Starlette: ``POST /v1/sessions`` parses the JSON body and echoes it with 201; ``GET
/api/version`` answers a constant JSON object.

No validation at all: this is the floor of any ASGI stack on uvicorn, and what every other row
is measured against implicitly.

Run: ``uvicorn bench.starlette_app:app``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def create_session(request: Request) -> JSONResponse:
    """Echo the parsed JSON body with status 201."""
    return JSONResponse(await request.json(), status_code=201)


async def api_version(_request: Request) -> JSONResponse:
    """ServiceAi's ``GET /api/version`` answer, constant."""
    return JSONResponse({"apiVersion": "1.1.24", "minClientVersion": "1.0.0"})


app = Starlette(routes=[Route("/v1/sessions", create_session, methods=["POST"]),
                        Route("/api/version", api_version, methods=["GET"])])
