"""Vertebro's answer to an unreachable database: 503 ``mongo_unavailable`` (the contract's code)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from adapters.storage.database import StorageUnavailable
from handlers.errors import ApiError

P = ParamSpec("P")
T = TypeVar("T")


def guarded(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Operation decorator: :class:`StorageUnavailable` (``Database.run`` on a driver failure)
    answers 503 ``mongo_unavailable``, never 500. The signature and annotations are kept, so the
    gateway still sees the typed ``body`` and result."""

    @functools.wraps(operation)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await operation(*args, **kwargs)
        except StorageUnavailable:
            raise ApiError(503, "mongo_unavailable", "The database is not reachable") from None

    return wrapper
