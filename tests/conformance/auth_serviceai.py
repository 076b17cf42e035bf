"""Credentials for ServiceAi operations in the conformance run: a bearer token of an admin user
holding the ``chatty-voice`` entitlement, created through the ServiceAi stores, and the
``X-Client-Version`` of a current client (every ServiceAi app sends its build).

Without the version, schemathesis' pattern-valid but outdated versions (``0.x``) would get the
contract's 426 — correct, but ``426`` is not a status schemathesis accepts for positive data.
The 426 / soft-upgrade handshake is tested in tests/handlers/serviceai/.
"""

from __future__ import annotations

import asyncio

from core.clock import utcnow
from handlers.serviceai.versioning import api_version


def headers(app, settings) -> dict[str, str]:
    """``Authorization`` and ``X-Client-Version`` for ``serviceai.*`` operations."""
    bundle = app.bundles["serviceai"]

    async def mint() -> str:
        await bundle.users.upsert_user(user_id="conformance-user", organization_id="conformance-org", now=utcnow(),
                                       display_name="Conformance", role="admin", entitlements=["chatty-voice"])
        token, _ = await bundle.users.mint_token("conformance-user", utcnow(), label="conformance")
        return token

    return {"Authorization": f"Bearer {asyncio.run(mint())}", "X-Client-Version": api_version()}
