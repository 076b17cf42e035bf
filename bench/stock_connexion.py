"""Stock connexion 3 AsyncApp: ``POST /v1/sessions`` validated against ``stock_spec.yaml``, echoed.

This is what connexion costs with nothing of ours added: routing, request-body validation
(connexion's defaults: ``jsonschema`` Draft 4, no response validation) and a handler that
returns the body with 201. The gateway runs the same framework plus security, its body guard,
error rendering, rate limiting and a database write, so the gap between the two rows is the
cost of the gateway's own work.

Run: ``uvicorn bench.stock_connexion:app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connexion import AsyncApp

SPEC_DIR = Path(__file__).resolve().parent


async def create_session(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Echo the validated request body with status 201."""
    return body, 201


app = AsyncApp(__name__, specification_dir=SPEC_DIR)
app.add_api("stock_spec.yaml")
