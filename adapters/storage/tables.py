"""Every API's tables on one metadata: each ``adapters/storage/<api>/tables.py`` is imported.

The migrations (``adapters/storage/migrations``) are the schema's history; this metadata is what
the models declare today, so tests can check the two agree. No API is named here: a new API's
storage package is found by its ``tables`` module.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import adapters.storage as storage


def table_modules() -> list[str]:
    """Dotted names of ``adapters.storage.<api>.tables`` for every storage package that has one."""
    names = []
    for info in pkgutil.iter_modules(storage.__path__):
        if info.ispkg and info.name != "migrations":
            name = f"{storage.__name__}.{info.name}.tables"
            if importlib.util.find_spec(name) is not None:
                names.append(name)
    return sorted(names)


def register_all() -> MetaData:
    """Import every API's table module and return ``SQLModel.metadata`` with all their tables."""
    for name in table_modules():
        importlib.import_module(name)
    return SQLModel.metadata
