"""Shared fixtures: a fresh gateway on a temporary SQLite database, with response validation on."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

from starlette.testclient import TestClient  # noqa: E402

import handlers.results  # noqa: E402
from core.settings import Settings  # noqa: E402
from gateway.app import create_app  # noqa: E402
from handlers.virtual_banker.security import mint_jwt  # noqa: E402

JWT_SECRET = "test-secret-for-virtual-banker-jwts-0123456789"

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
