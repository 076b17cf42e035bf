"""Real servers for adapter tests, started by the project's scripts on loopback: a throwaway
PostgreSQL (scripts/pg-test-server) and Redis (scripts/redis-test-server), one each per session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(script: str, prefix: str) -> tuple[str, str]:
    directory = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    result = subprocess.run([str(ROOT / "scripts" / script), "start", directory, str(_free_port())],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{script} failed: {result.stderr or result.stdout}")
    return result.stdout.strip(), directory


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a throwaway Redis server."""
    url, directory = _start("redis-test-server", "redis-adapters-")
    yield url
    subprocess.run([str(ROOT / "scripts" / "redis-test-server"), "stop", directory], check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's admin database."""
    url, directory = _start("pg-test-server", "pg-adapters-")
    yield url
    subprocess.run([str(ROOT / "scripts" / "pg-test-server"), "stop", directory], check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_database(pg_admin_url: str) -> str:
    """A fresh empty PostgreSQL database; its URL."""
    name = f"a_{uuid.uuid4().hex[:12]}"
    engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
