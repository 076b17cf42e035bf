"""ServiceAi ``bearerAuth``: a per-user opaque API token issued by this server.

Tokens (``sai_…``, 256 random bits) are minted by
``python -m handlers.serviceai.manage token --user U --org O --entitlement chatty-voice`` and
stored only as SHA-256 hashes. A token works while it is neither revoked nor expired and its
user is enabled; the user's entitlements and tool permissions are read on every request, so
granting or revoking takes effect at once.
"""

from __future__ import annotations

from typing import Any

from core.clock import utcnow
from handlers.serviceai.bundle import bundle


async def bearer_info(token: str) -> dict[str, Any] | None:
    """connexion bearer hook: ``{sub, organization_id, display_name, role, entitlements,
    permissions, token_id}`` for a live token, else None (→ 401 ``UNAUTHORIZED``)."""
    if not token or len(token) > 512:
        return None
    found = await bundle().users.authenticate(token, utcnow())
    if found is None:
        return None
    user, record = found
    return {
        "sub": user.user_id,
        "organization_id": user.organization_id,
        "display_name": user.display_name,
        "role": user.role,
        "entitlements": list(user.entitlements),
        "permissions": list(user.permissions),
        "token_id": record.token_id,
    }
