"""Per tenant+user rate limiting with ``X-RateLimit-*`` headers (seed 001 "Rate Limiting")."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from handlers.virtual_banker.bundle import bundle
from handlers.errors import ApiError
from handlers.virtual_banker.config import tenant_config


def _headers(decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset),
    }


def rate_limited(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Charge one request to the caller's tenant+user budget before ``handler`` runs.

    The budget is the tenant's ``policy.rate_limit_per_minute``. Over budget → 429
    ``RATE_LIMITED`` (nothing else happens); otherwise the handler's result — a
    ``(body, status[, headers])`` tuple or a Starlette ``Response`` — gets the three headers.
    """

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        info = kwargs["token_info"]
        config = await tenant_config(info["tenant_id"])
        per_minute = int(config.get("policy", {}).get("rate_limit_per_minute") or 1)
        decision = bundle().limiter.hit(f"vb:{info['tenant_id']}:{info['sub']}", per_minute)
        headers = _headers(decision)
        if not decision.allowed:
            raise ApiError(429, "RATE_LIMITED", f"Rate limit of {decision.limit} requests per minute exceeded",
                           details={"limit": decision.limit, "reset": decision.reset}, headers=headers)
        result = await handler(*args, **kwargs)
        if isinstance(result, tuple):
            body, status, *rest = result
            return body, status, {**(rest[0] if rest else {}), **headers}
        result.headers.update(headers)  # a Starlette Response (raw audio, streams)
        return result

    return wrapper
