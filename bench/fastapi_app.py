"""FastAPI: ``POST /v1/sessions`` with a pydantic model of ``CreateSessionRequest``, echoed with 201.

The model mirrors the contract schema (three required strings, an optional ``portal_context``
object, extra properties allowed as in JSON Schema). This is the usual "typed Python API" point
of comparison: validation through pydantic-core instead of pure-Python ``jsonschema``.

Run: ``uvicorn bench.fastapi_app:app``.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict


class PortalContext(BaseModel):
    """``portal_context``: where in the portal the session starts."""

    model_config = ConfigDict(extra="allow")
    route: str | None = None
    account_id: str | None = None


class CreateSessionRequest(BaseModel):
    """Virtual Banker's ``CreateSessionRequest`` body."""

    model_config = ConfigDict(extra="allow")
    tenant_id: str
    user_id: str
    auth_assertion: str
    portal_context: PortalContext | None = None


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/v1/sessions", status_code=201, response_model_exclude_unset=True)
async def create_session(body: CreateSessionRequest) -> CreateSessionRequest:
    """Echo the validated request body with status 201."""
    return body
