"""Real servers for adapter tests: the session's throwaway PostgreSQL and Redis on loopback
(``postgres_admin`` and ``redis_server`` of tests/conftest.py, started by scripts/pg-test-server
and scripts/redis-test-server)."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_database, fresh_redis_database


@pytest.fixture(scope="session")
def redis_url(redis_server: str) -> str:
    """URL of a Redis database of the adapter tests' own (no other test's keys in it)."""
    return fresh_redis_database(redis_server)


@pytest.fixture
def pg_database(postgres_admin: str) -> str:
    """A fresh empty PostgreSQL database; its URL."""
    return fresh_database(postgres_admin, prefix="a")
