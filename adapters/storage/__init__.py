"""Storage adapter: sqlmodel over SQLite (WAL, default) or PostgreSQL (``DATABASE_URL``), Alembic migrations."""

# Before any table model is defined: every model's text columns hold NUL on PostgreSQL too
# (adapters.storage.types.encode_text), whichever module defines the model.
from adapters.storage import types as types  # noqa: E402, F401
