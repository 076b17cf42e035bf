"""schemathesis over the whole merged contract, against the ASGI app, every check.

Phases: examples, coverage and fuzzing (positive and negative data). Operations still
answering 501 — ``pending`` in specs/merge.yaml, read from generated/apis.json — are the
only exclusions. Credentials come from each API's own security scheme: the module
``tests/conformance/auth_<namespace>.py`` gives ``headers(app, settings)`` for that API.
"""

from __future__ import annotations

import importlib
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from core.settings import Settings  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.contract import Contract  # noqa: E402

SECRET = "conformance-secret-0123456789-0123456789"
_tmp = Path(tempfile.mkdtemp(prefix="conformance-"))
SETTINGS = Settings(
    database_url=f"sqlite:///{_tmp / 'conformance.db'}",
    validate_responses=True,
    virtual_banker_jwt_secret=SECRET,
    vb_default_rate_limit_per_minute=1_000_000,
)
APP = create_app(SETTINGS)
CONTRACT = Contract()
PENDING = sorted(
    f"{ns}.{op_id}" for ns, api in CONTRACT.apis.items() for op_id in api.pending
) + sorted(
    f"{ns}.{alias}" for ns, api in CONTRACT.apis.items() for alias, target in api.aliases.items()
    if target in api.pending
)

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261125,
        "generation": {"mode": "all", "max-examples": 25},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        # Schema-valid bytes need not be valid audio: operations that decode uploaded audio answer
        # such (random) bytes with their documented 415 (and an empty sample file with 400);
        # Vertebro startTraining answers its documented 400 not_enough_samples:N/3 for a project
        # without samples (a state precondition no schema can express).
        "operations": [
            # Rules the contract states in prose, which JSON Schema cannot express: custom tool
            # names are unique within an agent, and the prompt-mode filler variants sum to at most
            # 5 (their documented 400). A schema-valid agent may break them.
            {
                "include-operation-id": ["virstack.createAgent", "virstack.updateAgent"],
                "checks": {"positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]}},
            },
            {
                "include-operation-id": ["vertebro.recognizeSpeech", "vertebro.uploadVoiceSamples",
                                         "vertebro.startTraining"],
                "checks": {"positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "415", "429", "5xx"]}},
            },
        ],
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).exclude(operation_id=PENDING)


def _auth_headers(namespace: str) -> dict[str, str]:
    try:
        module = importlib.import_module(f"tests.conformance.auth_{namespace}")
    except ModuleNotFoundError:
        return {}
    return module.headers(APP, SETTINGS)


AUTH = {ns: _auth_headers(ns) for ns in CONTRACT.apis if CONTRACT.apis[ns].pending != frozenset(
    op["operationId"].split(".", 1)[1] for _, _, op in CONTRACT.operations() if op["operationId"].startswith(ns + "."))}


@schema.auth()
class GatewayAuth:
    """Each API's own credentials, chosen by the operation's namespace."""

    def get(self, case, ctx):
        return AUTH.get(case.operation.definition.raw["operationId"].split(".", 1)[0], {})

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), **data}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_contract(case):
    """Every response conforms; invalid input is rejected with a declared 4xx; no 5xx.

    WebSocket operations (success ``101``) cannot succeed over plain HTTP: they answer the
    declared 426, so the positive-data-acceptance check does not apply to them (their
    protocol is tested with WebSocket clients).
    """
    excluded = []
    if "101" in case.operation.definition.raw.get("responses", {}):
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)


def test_exclusions_are_exactly_the_pending_operations():
    implemented = [op["operationId"] for _, _, op in CONTRACT.operations() if op["operationId"] not in PENDING]
    assert all(not op.get("x-gateway-pending") for _, _, op in CONTRACT.operations()
               if op["operationId"] in implemented)
    assert implemented, "nothing is tested"
