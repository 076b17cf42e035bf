"""Invariants that must hold across server processes: two processes ("hosts") share one
PostgreSQL database and one Redis; requests are spread over both at the same moment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from adapters.storage.virstack_voiceai.catalog import seed_catalog
from handlers.virtual_banker.security import mint_jwt
from tests.conftest import ROOT, fresh_database
from tests.scaleout.conftest import SECRETS, ServerProcess


async def _spread(servers: list[ServerProcess], n: int, request) -> list[httpx.Response]:
    """``n`` concurrent calls of ``request(client, base_url, i)``, alternating between servers."""
    async with httpx.AsyncClient(timeout=60) as client:
        return list(await asyncio.gather(*(request(client, servers[i % len(servers)].url, i) for i in range(n))))


def test_processes_started_together_migrate_and_seed_once(postgres_admin: str, redis_server: str,
                                                          tmp_path: Path) -> None:
    """Three processes start at the same instant on an empty database: all serve, the schema is
    migrated once (one Alembic version row, no error), the provider catalog is seeded once."""
    url = fresh_database(postgres_admin)
    servers = [ServerProcess({"DATABASE_URL": url, "REDIS_URL": redis_server}, tmp_path).start() for _ in range(3)]
    try:
        for server in servers:
            server.wait_ready()
        health = [httpx.get(f"{s.url}/health", timeout=10).json()["status"] for s in servers]
        assert health == ["healthy"] * 3, health
        engine = create_engine(url)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            providers = conn.execute(text("SELECT count(*) FROM vs_provider")).scalar()
            models = conn.execute(text("SELECT count(*) FROM vs_provider_model")).scalar()
        engine.dispose()
        assert len(versions) == 1
        catalog = seed_catalog()
        assert (providers, models) == (len(catalog), sum(len(p["models"]) for p in catalog))
    finally:
        for server in servers:
            server.stop()


def test_generated_secrets_are_one_value_for_concurrent_starts(tmp_path: Path) -> None:
    """Processes that generate their secrets at the same time (no secrets in the environment)
    agree on one: a JWT signed with the file's secret is accepted by every process."""
    secrets_dir = tmp_path / "shared-secrets"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    code = ("from core.settings import Settings; s = Settings(); "
            "print(s.virtual_banker_jwt_secret, s.virstack_jwt_secret, s.webhook_secret_key, s.livekit_api_key, "
            "s.livekit_api_secret)")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**env, "SECRETS_DIR": str(secrets_dir)}) for _ in range(6)]
    outputs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert len(outputs) == 1, outputs
    files = sorted(p.name for p in secrets_dir.iterdir())
    assert files == ["livekit_api_key", "livekit_api_secret", "virstack_jwt_secret", "virtual_banker_jwt_secret",
                     "webhook_secret_key"], files  # and no temporary file left behind
    assert all((secrets_dir / f).stat().st_mode & 0o077 == 0 for f in files)


def test_virtual_banker_rate_limit_is_one_budget(pair: list[ServerProcess]) -> None:
    """50 concurrent requests of one tenant+user over both processes: exactly the per-minute
    budget (20) is served, the rest answer 429 with Retry-After."""
    token = mint_jwt("tenant-scale", "user-rate", SECRETS["VIRTUAL_BANKER_JWT_SECRET"], 600)

    async def call(client: httpx.AsyncClient, base: str, _: int) -> httpx.Response:
        return await client.get(f"{base}/v1/sessions", headers={"Authorization": f"Bearer {token}"})

    answers = asyncio.run(_spread(pair, 50, call))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 20, 429: 30}, statuses
    assert all(r.headers.get("Retry-After") for r in answers if r.status_code == 429)


def _serviceai_token(pair: list[ServerProcess], user: str) -> str:
    result = subprocess.run([sys.executable, "-m", "handlers.serviceai.manage", "token", "--user", user,
                             "--org", "scale-org", "--entitlement", "chatty-voice"],
                            cwd=ROOT, env=pair[0].env, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_serviceai_csrf_token_is_single_use_across_processes(pair: list[ServerProcess]) -> None:
    """One CSRF token sent to both processes at the same moment: exactly one consumes it (its
    malformed SDP is then refused with 400), the other answers 403."""
    bearer = {"Authorization": f"Bearer {_serviceai_token(pair, 'csrf-user')}"}
    for attempt in range(3):
        csrf = httpx.get(f"{pair[0].url}/api/csrf-token", headers=bearer, timeout=30).json()["token"]

        # a different client address per attempt (3 exchanges per minute per IP)
        headers = {**bearer, "X-CSRF-Token": csrf, "X-Forwarded-For": f"198.51.100.{attempt}"}

        async def call(client: httpx.AsyncClient, base: str, _: int, headers: dict = headers) -> httpx.Response:
            return await client.post(f"{base}/api/realtime/webrtc", json={"sdp": "not an offer"}, headers=headers)

        statuses = sorted(r.status_code for r in asyncio.run(_spread(pair, 2, call)))
        assert statuses == [400, 403], statuses


def test_serviceai_realtime_token_budget_is_shared(pair: list[ServerProcess]) -> None:
    """12 concurrent realtime-token calls of one user over both processes: exactly the budget
    (SERVICEAI_REALTIME_MINT_PER_MINUTE=5) is served, the rest answer 429 with Retry-After."""
    bearer = {"Authorization": f"Bearer {_serviceai_token(pair, 'mint-user')}"}

    async def call(client: httpx.AsyncClient, base: str, _: int) -> httpx.Response:
        return await client.post(f"{base}/api/realtime-token", json={}, headers=bearer)

    answers = asyncio.run(_spread(pair, 12, call))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 5, 429: 7}, statuses
    assert all(r.headers.get("Retry-After") for r in answers if r.status_code == 429)


def test_virstack_duplicate_registration_across_processes(pair: list[ServerProcess]) -> None:
    """The same email registered on both processes at once, 5 times over: one 201 and one 409 each time."""
    for round_ in range(5):
        email = f"dup{round_}@scale.example"

        async def call(client: httpx.AsyncClient, base: str, i: int, email: str = email) -> httpx.Response:
            return await client.post(f"{base}/v1/users/register", json={
                "organization_name": f"Org {i}", "first_name": "A", "last_name": "B", "email": email,
                "password": "password123"})

        statuses = sorted(r.status_code for r in asyncio.run(_spread(pair, 2, call)))
        assert statuses == [201, 409], statuses


def test_virstack_publish_is_idempotent_across_processes(pair: list[ServerProcess]) -> None:
    """One agent published from both processes at once, 8 times: one version per distinct
    configuration (every answer names the same version number)."""
    httpx.post(f"{pair[0].url}/v1/users/register", json={
        "organization_name": "Publish Org", "first_name": "P", "last_name": "Q", "email": "pub@scale.example",
        "password": "password123"}, timeout=30).raise_for_status()
    jwt = httpx.post(f"{pair[1].url}/v1/users/login", json={"email": "pub@scale.example", "password": "password123"},
                     timeout=30).json()["data"]["token"]
    auth = {"Authorization": f"Bearer {jwt}"}
    agent = httpx.post(f"{pair[0].url}/v1/agent", headers=auth, timeout=30, json={"agent_settings": {
        "identity": {"agent_name": "Scale"}, "engine": {"provider": "gemini"},
        "behavior": {"system_prompt": {"persona": "You are helpful.", "task": "Help."}}}})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["data"]["agent_id"]

    async def call(client: httpx.AsyncClient, base: str, _: int) -> httpx.Response:
        return await client.post(f"{base}/v1/agent/{agent_id}/publish", headers=auth, json={})

    answers = asyncio.run(_spread(pair, 8, call))
    assert all(r.status_code in (200, 201) for r in answers), [(r.status_code, r.text) for r in answers]
    versions = {r.json()["data"]["version"] for r in answers}
    assert len(versions) == 1, versions
    listed = httpx.get(f"{pair[1].url}/v1/agent/{agent_id}/versions", headers=auth, timeout=30).json()["data"]
    assert len(listed) == 1
