"""Database backends for storage tests: SQLite files, and a throwaway PostgreSQL on loopback
started by scripts/pg-test-server (PostgreSQL is installed by scripts/bootstrap)."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "pg-test-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostgreSQL server's admin database, for the whole test session."""
    directory = tempfile.mkdtemp(prefix="pg-test-", dir="/tmp")
    result = subprocess.run([str(SCRIPT), "start", directory, str(_free_port())], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"could not start PostgreSQL: {result.stderr or result.stdout}")
    yield result.stdout.strip()
    subprocess.run([str(SCRIPT), "stop", directory], check=False)
    subprocess.run(["rm", "-rf", directory], check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    admin = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + f"/{name}"
