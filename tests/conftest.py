"""Shared fixtures: a fresh gateway on a temporary SQLite database, with response validation on;
a throwaway PostgreSQL and Redis on loopback (started by the project's scripts/pg-test-server and
scripts/redis-test-server, once per session) for the tests that run on them."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

from sqlalchemy import create_engine, text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import handlers.results  # noqa: E402
from core.settings import Settings  # noqa: E402
from gateway.app import create_app  # noqa: E402
from handlers.virtual_banker.security import mint_jwt  # noqa: E402

JWT_SECRET = "test-secret-for-virtual-banker-jwts-0123456789"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(name: str, *args: str) -> str:
    result = subprocess.run([str(ROOT / "scripts" / name), *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{name} {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout.strip()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's admin database (scripts/pg-test-server)."""
    directory = tempfile.mkdtemp(prefix="pg-tests-", dir="/tmp")
    url = _script("pg-test-server", "start", directory, str(free_port()))
    yield url
    subprocess.run([str(ROOT / "scripts" / "pg-test-server"), "stop", directory], check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """URL of a throwaway Redis server, database 0 (scripts/redis-test-server)."""
    directory = tempfile.mkdtemp(prefix="redis-tests-", dir="/tmp")
    url = _script("redis-test-server", "start", directory, str(free_port()))
    yield url
    subprocess.run([str(ROOT / "scripts" / "redis-test-server"), "stop", directory], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def fresh_database(admin_url: str, prefix: str = "s") -> str:
    """A new empty PostgreSQL database on the server of ``admin_url``; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


_redis_databases = itertools.count(1)


def fresh_redis_database(server_url: str) -> str:
    """Another of the Redis server's numbered databases (1, 2, …; 0 is ``redis_server``'s), empty:
    keys (rate-limit windows, slot leases) of one deployment do not reach the others. Pub/sub
    channels are server-wide: deployments on one server must not run at the same time."""
    number = next(_redis_databases)
    if number > 15:  # redis-server's default `databases 16`
        raise RuntimeError("no Redis database left: start another server")
    return server_url.rsplit("/", 1)[0] + f"/{number}"

# every response model dumped through pydantic's exclude_none is checked against the exact pruning
handlers.results.VERIFY_FAST_DUMP = True


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides) -> Settings:
        values = {
            "database_url": f"sqlite:///{tmp_path / 'gateway.db'}",
            "validate_responses": True,
            "virtual_banker_jwt_secret": JWT_SECRET,
            "vb_default_rate_limit_per_minute": 1000,
            "realtime_host_addresses": ["127.0.0.1"],
            # engines load on first use: a test app does not load Whisper and the embedding model
            # in the background (tests/gateway/test_cold_start.py covers the warm-up)
            "engine_preload": False,
            "gc_freeze": False,  # one test process builds hundreds of apps: none is kept for good
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def vb_jwt() -> Callable[..., str]:
    def mint(tenant: str = "tenant-123", user: str = "user-456", ttl: int = 3600, secret: str = JWT_SECRET) -> str:
        return mint_jwt(tenant, user, secret, ttl)

    return mint


@pytest.fixture
def vb_auth(vb_jwt) -> Callable[..., dict[str, str]]:
    def headers(tenant: str = "tenant-123", user: str = "user-456") -> dict[str, str]:
        return {"Authorization": f"Bearer {vb_jwt(tenant, user)}"}

    return headers


class LiveServer:
    """A real uvicorn server for one app, in a background thread, on a free loopback port;
    ``options`` are further ``uvicorn.Config`` arguments (e.g. ``http=``)."""

    def __init__(self, app, **options) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server
