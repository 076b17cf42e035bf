"""Vertebro's answer to an unreachable database: 503 ``mongo_unavailable`` (the contract's code)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.storage.database import StorageUnavailable
from handlers.errors import ApiError

T = TypeVar("T")


def guarded(operation: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Operation decorator: :class:`StorageUnavailable` answers 503 ``mongo_unavailable``, never 500."""

    @functools.wraps(operation)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return await operation(*args, **kwargs)
        except StorageUnavailable:
            raise ApiError(503, "mongo_unavailable", "The database is not reachable") from None

    return wrapper
