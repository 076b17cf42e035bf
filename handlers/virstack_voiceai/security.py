"""Virstack authentication.

``BearerAuth`` (``Authorization: Bearer <token>``) accepts either

- an API key ``vk-`` + 32 hex (created with POST /auth/api-keys, stored hashed, revoked at once
  by DELETE), acting with the organization and role of the user who created it; or
- a login JWT from POST /users/login: HS256 with ``VIRSTACK_JWT_SECRET``, claims ``sub`` (user
  id), ``org_id``, ``role``, ``jti``, ``iat``, ``exp``, ``iss`` = ``virstack``; rejected once its
  ``jti`` is revoked by POST /users/logout.

Both resolve to ``token_info = {sub, org_id, role, kind, ...}``.

``LiveKitWebhook`` (POST /webhooks/livekit only): the LiveKit-signed JWT in ``Authorization``
(raw or after ``Bearer``), verified with ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``; the body
hash it carries is compared with the raw body by the handler.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from adapters.telephony.webhooks import InvalidSignature, verify_token
from core.clock import utcnow
from handlers.virstack_voiceai.bundle import bundle

ALGORITHM = "HS256"
ISSUER = "virstack"


def mint_login_token(*, user_id: str, org_id: str, role: str, secret: str, ttl_minutes: int) -> tuple[str, datetime]:
    """A login JWT and its expiry."""
    now = utcnow().replace(microsecond=0)
    expires = now + timedelta(minutes=ttl_minutes)
    claims = {"sub": user_id, "org_id": org_id, "role": role, "jti": uuid.uuid4().hex, "iss": ISSUER,
              "iat": now, "exp": expires}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def decode_login_token(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid login JWT (signature, issuer, expiry, required claims), else None."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "jti", "iss"]})
    except jwt.PyJWTError:
        return None
    if not all(isinstance(claims.get(k), str) and claims[k] for k in ("sub", "org_id", "role", "jti")):
        return None
    return claims


async def resolve_token(token: str) -> dict[str, Any] | None:
    """``token_info`` for an API key or a live login JWT, else None."""
    v = bundle()
    if token.startswith("vk-"):
        key = await v.accounts.find_api_key(token)
        if key is None:
            return None
        return {"sub": key.user_id, "org_id": key.org_id, "role": key.role, "kind": "api_key", "key_id": key.key_id}
    claims = decode_login_token(token, v.settings.virstack_jwt_secret)
    if claims is None or await v.accounts.is_token_revoked(claims["jti"]):
        return None
    user = await v.accounts.get_user(claims["sub"])
    if user is None or user.org_id != claims["org_id"]:
        return None
    return {"sub": user.user_id, "org_id": user.org_id, "role": user.role, "kind": "jwt", "jti": claims["jti"],
            "exp": datetime.fromtimestamp(claims["exp"], tz=UTC)}


async def bearer_info(token: str) -> dict[str, Any] | None:
    """connexion hook of ``BearerAuth`` (None → 401 in the Virstack envelope)."""
    return await resolve_token(token) if token else None


def api_key_info(api_key: str, required_scopes=None) -> dict[str, Any] | None:  # noqa: ARG001
    """connexion hook of ``LiveKitWebhook``: the header's JWT verifies with the LiveKit key and
    secret and carries a ``sha256`` claim → ``{kind: livekit_webhook, sha256}``; else None (401)."""
    settings = bundle().settings
    try:
        digest = verify_token(api_key, settings.livekit_api_key, settings.livekit_api_secret)
    except InvalidSignature:
        return None
    return {"sub": "livekit", "kind": "livekit_webhook", "sha256": digest}
