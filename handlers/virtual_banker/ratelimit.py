"""Per tenant+user rate limiting with ``X-RateLimit-*`` headers (seed 001 "Rate Limiting")."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from pydantic import BaseModel
from starlette.responses import Response

from adapters.ratelimit import RateDecision
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.config import tenant_config

P = ParamSpec("P")

#: What a Virtual Banker handler returns (see :mod:`handlers.virtual_banker.replies`).
Result = BaseModel | Reply | Response


def headers_of(decision: RateDecision) -> dict[str, str]:
    """``X-RateLimit-Limit`` (requests per minute), ``X-RateLimit-Remaining`` (requests left in
    the window) and ``X-RateLimit-Reset`` (Unix time, seconds, when the window has room again)."""
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset),
    }


def retry_after(decision: RateDecision, now: float | None = None) -> int:
    """Whole seconds from ``now`` (Unix time, default the current time) until ``decision.reset``,
    rounded up and at least 1: the ``Retry-After`` of a 429."""
    return decision.retry_after(now)


def with_headers(result: Result, headers: dict[str, str]) -> Reply | Response:
    """``result`` with ``headers`` added: a model becomes ``Reply(model, 200, headers)``, a
    :class:`Reply` gets them merged into its own, a Starlette ``Response`` gets them set."""
    if isinstance(result, Response):
        result.headers.update(headers)
        return result
    if isinstance(result, Reply):
        return dataclasses.replace(result, headers={**result.headers, **headers})
    return Reply(result, 200, headers)


def rate_limited(handler: Callable[P, Awaitable[Result]]) -> Callable[P, Awaitable[Reply | Response]]:
    """Charge one request to the caller's tenant+user budget before ``handler`` runs.

    The budget is the tenant's ``policy.rate_limit_per_minute`` (requests per minute). Over
    budget → :class:`~handlers.errors.ApiError` 429 ``RATE_LIMITED`` with the three
    ``X-RateLimit-*`` headers and ``Retry-After`` (seconds), and the handler does not run.
    Otherwise the handler's result — a generated model, a :class:`Reply` or a Starlette
    ``Response`` — gets the three ``X-RateLimit-*`` headers, and so does a 429 the handler
    raises itself (a caller's speech jobs over their share). The handler must take
    ``token_info`` (``{sub, tenant_id, …}`` from :func:`~handlers.virtual_banker.security.bearer_info`)
    as a keyword argument, as connexion passes it.
    """

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Reply | Response:
        info = kwargs["token_info"]
        assert isinstance(info, dict), "rate_limited handlers receive token_info from BearerAuth"
        config = await tenant_config(info["tenant_id"])
        per_minute = int(config.get("policy", {}).get("rate_limit_per_minute") or 1)
        decision = await bundle().limiter.hit(f"vb:{info['tenant_id']}:{info['sub']}", per_minute)
        headers = headers_of(decision)
        if not decision.allowed:
            raise ApiError(429, "RATE_LIMITED", f"Rate limit of {decision.limit} requests per minute exceeded",
                           details={"limit": decision.limit, "reset": decision.reset},
                           headers={**headers, "Retry-After": str(retry_after(decision))})
        try:
            result = await handler(*args, **kwargs)
        except ApiError as exc:
            if exc.status == 429:  # the contract's 429 carries the budget headers too
                exc.headers = {**headers, **exc.headers}
            raise
        return with_headers(result, headers)

    return wrapper
