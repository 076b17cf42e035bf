"""Virtual Banker ``BearerAuth``: a JWT or a live session's ephemeral token.

JWT: HS256 signed with ``VIRTUAL_BANKER_JWT_SECRET``; claims ``sub`` (user_id),
``tenant_id`` and ``exp`` are required. Ephemeral token: the opaque token returned by
``createSession``/``refreshToken``, valid while its session is live and only for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt

from core.clock import utcnow
from handlers.virtual_banker.bundle import bundle

ALGORITHM = "HS256"


class InvalidAssertion(ValueError):
    """A JWT that does not verify (bad signature, expired, missing claims)."""


def decode_jwt(token: str, secret: str) -> dict[str, Any]:
    """Verify an HS256 JWT and return its claims.

    Raises :class:`InvalidAssertion` unless it is signed with ``secret``, unexpired, and
    carries non-empty string ``sub`` and ``tenant_id`` claims.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise InvalidAssertion(str(exc)) from None
    if not isinstance(claims.get("tenant_id"), str) or not claims["tenant_id"]:
        raise InvalidAssertion("claim tenant_id is missing")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidAssertion("claim sub is missing")
    return claims


def mint_jwt(tenant_id: str, user_id: str, secret: str, ttl_seconds: int = 3600) -> str:
    """A development/test JWT for ``user_id`` of ``tenant_id`` valid for ``ttl_seconds``."""
    now = utcnow()
    claims = {"sub": user_id, "tenant_id": tenant_id, "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


async def bearer_info(token: str) -> dict[str, Any] | None:
    """connexion bearer hook: token info ``{sub, tenant_id, kind, session_id?}`` or None (→ 401)."""
    s = bundle()
    if token.count(".") == 2:
        try:
            claims = decode_jwt(token, s.settings.virtual_banker_jwt_secret)
        except InvalidAssertion:
            return None
        return {"sub": claims["sub"], "tenant_id": claims["tenant_id"], "kind": "jwt"}
    record = await s.sessions.find_live_by_token(token, utcnow())
    if record is None:
        return None
    return {"sub": record.user_id, "tenant_id": record.tenant_id, "kind": "ephemeral", "session_id": record.session_id}
