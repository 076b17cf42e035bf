"""schemathesis against a live server, from each API's served document, as contract testers run it.

Each API's run is ``tools.fuzz`` (what ``make fuzz URL=…`` runs against any deployment): the
schemathesis CLI over ``/openapi/<api>.json`` with every phase — examples, coverage, fuzzing and
stateful (the documents' OpenAPI links) — and every check, ``use_after_free``,
``ensure_resource_availability``, ``ignored_auth`` and ``object_level_authorization`` (two users
per API as peers) included; the server validates its own responses too (``VALIDATE_RESPONSES``).
Credentials come from ``tests/conformance/auth_<namespace>.py``: ``fuzz_env(app, settings)``
returns the ``FUZZ_*`` variables an operator would set (what only a test can know, e.g. JWTs
signed with the run's secret). Operations still pending (``specs/<api>/pending.yaml``) answer
501 and are left out of the depth figure; so are WebSocket handshakes (their 426 over plain HTTP
is checked; the protocol is tested with WebSocket clients).

Each API is run against two deployments (``ENGINES``, test ids ``test_contract[<engine>-<api>]``):
one process on SQLite, and one on PostgreSQL + Redis — a fresh database, and a Redis database of
its own, on the throwaway servers scripts/pg-test-server and scripts/redis-test-server start on
loopback (the session fixtures of tests/conftest.py, shared with the cross-process tests of
tests/scaleout). PostgreSQL is the stricter store (it enforces VARCHAR lengths and refuses NUL in
text; SQLite does neither), so a value the contract accepts but the server cannot store shows
there as a 500.

Printed per engine and API (and in the terminal summary): operations driven to a 2xx / operations, and
failures. Goal and assertion: 0 failures; every operation reached except at most those in
``NOT_REACHED`` (each with its reason; a listed operation the run reaches is printed, so the list
can shrink).
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from pathlib import Path

import pytest

from core.settings import Settings
from gateway.app import create_app
from gateway.contract import Contract
from tests.conftest import LiveServer, fresh_database, fresh_redis_database
from tools import fuzz

SECRET = "conformance-secret-0123456789-0123456789"
SEED = 20261125
# The same examples on both engines. Measured on 2 cores, s per API (serviceai / vb / vertebro /
# virstack), with other work running: load average ~3-5: SQLite 25 / 43 / 35 / 55 (158 s),
# PostgreSQL + Redis 22 / 52 / 61 / 75 (210 s), 6.4 min in all; load average 5-8: SQLite
# 34 / 104 / 81 / 116, PostgreSQL + Redis 47 / 104 / 72 / 99. The second engine costs 1-1.3x the
# first, not enough to need fewer examples for it.
MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 150
APIS = json.loads(fuzz.APIS.read_text(encoding="utf-8"))

# Operations the run does not drive to a 2xx yet, and why. Keep it short; it may only shrink.
NOT_REACHED: dict[str, str] = {}
SUMMARY: list[str] = []


#: The deployments every API's run is repeated on (see the module docstring): SQLite (the
#: default), and PostgreSQL with Redis (what a scaled-out deployment shares, docs/deploy.md).
ENGINES = {"sqlite": "SQLite", "postgres": "PostgreSQL + Redis"}


@pytest.fixture(scope="module", params=list(ENGINES))
def deployment(request):
    """A fresh gateway (its own database: a SQLite file, or a new PostgreSQL database with a Redis
    database of its own) served by uvicorn, and the FUZZ_* credentials."""
    engine = request.param
    tmp = Path(tempfile.mkdtemp(prefix=f"conformance-{engine}-"))
    if engine == "sqlite":
        stores = {"database_url": f"sqlite:///{tmp / 'conformance.db'}"}
    else:
        stores = {"database_url": fresh_database(request.getfixturevalue("postgres_admin"), prefix="c"),
                  "redis_url": fresh_redis_database(request.getfixturevalue("redis_server"))}
    settings = Settings(
        **stores,
        validate_responses=True,
        virtual_banker_jwt_secret=SECRET,
        vb_default_rate_limit_per_minute=1_000_000,
        serviceai_webrtc_per_ip_per_minute=1_000_000,
        realtime_host_addresses=["127.0.0.1"],
        voice_file_storage_dir=str(tmp / "vertebro-files"),
    )
    app = create_app(settings)
    with LiveServer(app) as server:
        env: dict[str, str] = {}
        for namespace in APIS:
            try:
                module = importlib.import_module(f"tests.conformance.auth_{namespace}")
            except ModuleNotFoundError:  # an API without credentials to mint (or not written yet)
                continue
            env.update(module.fuzz_env(app, settings))
        yield engine, server.url, env, tmp


@pytest.mark.timeout(900)
@pytest.mark.parametrize("namespace", list(APIS))
def test_contract(deployment, namespace):
    """Every response conforms, invalid input gets a declared 4xx, no 5xx, ownership holds, created
    resources are there until deleted; every operation is driven to a 2xx (but NOT_REACHED)."""
    engine, url, env, tmp = deployment
    api = {**APIS[namespace], "namespace": namespace}
    started = time.monotonic()
    run = fuzz.run_api(url, api, env, tmp / "reports", seed=SEED, max_examples=MAX_EXAMPLES,
                       phases=list(fuzz.PHASES), stream=False, stateful_examples=STATEFUL_EXAMPLES)
    SUMMARY.append(f"[{ENGINES[engine]}] {fuzz.report([run]).splitlines()[0]} ({time.monotonic() - started:.0f} s)")
    print(f"[{ENGINES[engine]}] {fuzz.report([run])}")
    assert run.exit_code in (0, 1), run.output[-4000:]
    assert not run.failures, fuzz.report([run]) + "\n" + run.output[-20000:]
    allowed = {op.split(".", 1)[1] for op in NOT_REACHED if op.startswith(namespace + ".")}
    assert set(run.missing) <= allowed, (
        f"never driven to a 2xx: {sorted(set(run.missing) - allowed)} (not in NOT_REACHED)\n{run.output[-6000:]}")
    if allowed - set(run.missing):
        print(f"[{ENGINES[engine]}] reached this time, remove from NOT_REACHED: {sorted(allowed - set(run.missing))}")


def test_exclusions_are_exactly_the_pending_operations():
    """The depth figure leaves out only pending operations (and WebSocket handshakes)."""
    contract = Contract()
    pending = {f"{ns}.{op}" for ns, api in contract.apis.items() for op in api.pending}
    for _, _, op in contract.operations():
        assert bool(op.get("x-gateway-pending")) == (op["operationId"] in pending)
