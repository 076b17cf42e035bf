"""Credentials for ServiceAi operations in the conformance run: bearer tokens of admin users
holding the ``chatty-voice`` entitlement, created through the ServiceAi stores (as
``python -m handlers.serviceai.manage token`` does), one per organization.

``X-Client-Version`` is left to schemathesis: outdated versions get the contract's 426, which
tools/fuzz.py accepts for ServiceAi (the minimum version is a server setting).
"""

from __future__ import annotations

import asyncio

from core.clock import utcnow

USERS = (("conformance-user", "conformance-org"), ("conformance-user-2", "conformance-org-2"))


def _mint(app, user_id: str, org: str) -> str:
    bundle = app.bundles["serviceai"]

    async def mint() -> str:
        await bundle.users.upsert_user(user_id=user_id, organization_id=org, now=utcnow(),
                                       display_name="Conformance", role="admin", entitlements=["chatty-voice"])
        token, _ = await bundle.users.mint_token(user_id, utcnow(), label="conformance")
        return token

    return asyncio.run(mint())


def fuzz_env(app, settings) -> dict[str, str]:  # noqa: ARG001
    """``FUZZ_SERVICEAI_TOKEN`` and ``FUZZ_SERVICEAI_TOKEN_2`` for ``tools.fuzz``: two organizations."""
    return {"FUZZ_SERVICEAI_TOKEN": _mint(app, *USERS[0]), "FUZZ_SERVICEAI_TOKEN_2": _mint(app, *USERS[1])}
