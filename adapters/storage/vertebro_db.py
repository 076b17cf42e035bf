"""Database access of the Vertebro stores: a driver failure becomes :class:`StorageUnavailable`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from adapters.storage.database import Database

T = TypeVar("T")


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or refused the work (connection lost, locked, disk full)."""


async def run(db: Database, fn: Callable[..., T], *args, **kwargs) -> T:
    """:meth:`Database.run`, with driver failures raised as :class:`StorageUnavailable`."""
    try:
        return await db.run(fn, *args, **kwargs)
    except (OperationalError, InterfaceError) as exc:
        raise StorageUnavailable(str(exc.orig or exc)) from exc
