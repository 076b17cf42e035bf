"""Credentials for Virtual Banker operations in the conformance run: user JWTs.

Two users of one tenant (``object_level_authorization`` checks that neither reads the other's
sessions). The bearer JWT is also what ``createSession``'s ``auth_assertion`` needs: the fuzz
hooks (tools/fuzz_hooks.py) put it, and its tenant and user, into that body.
"""

from __future__ import annotations

from handlers.virtual_banker.security import mint_jwt

USERS = (("tenant-123", "user-456"), ("tenant-123", "user-789"))


def fuzz_env(app, settings) -> dict[str, str]:  # noqa: ARG001
    """``FUZZ_VB_TOKEN`` and ``FUZZ_VB_TOKEN_2`` for ``tools.fuzz``: JWTs of two users of one tenant."""
    secret = settings.virtual_banker_jwt_secret
    return {"FUZZ_VB_TOKEN": mint_jwt(*USERS[0], secret, 7200), "FUZZ_VB_TOKEN_2": mint_jwt(*USERS[1], secret, 7200)}
