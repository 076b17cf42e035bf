"""Credentials for Virtual Banker operations in the conformance run: a user JWT."""

from __future__ import annotations

from handlers.virtual_banker.security import mint_jwt


def headers(app, settings) -> dict[str, str]:
    """``Authorization`` for ``vb.*`` operations (signed with the run's JWT secret)."""
    return {"Authorization": f"Bearer {mint_jwt('tenant-123', 'user-456', settings.virtual_banker_jwt_secret, 3600)}"}
