"""Database backends for storage tests: SQLite files, and the session's throwaway PostgreSQL on
loopback (``postgres_admin`` of tests/conftest.py, started by scripts/pg-test-server; PostgreSQL is
installed by scripts/bootstrap)."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return fresh_database(request.getfixturevalue("postgres_admin"), prefix="t")
