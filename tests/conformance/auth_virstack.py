"""Credentials for Virstack operations in the conformance run: an API key of a fresh organization.

The organization is registered over HTTP (it is the first one of the run's database, so its
admin may also edit the provider catalog), and an API key is created with the login token. An
API key rather than the login JWT: the fuzzer also calls the open POST /users/logout with these
headers, which would revoke a JWT for the rest of the run.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

from starlette.testclient import TestClient  # noqa: E402


def headers(app, settings) -> dict[str, str]:  # noqa: ARG001
    client = TestClient(app)
    account = {"organization_name": "Conformance Org", "first_name": "Con", "last_name": "Formance",
               "email": "conformance@virstack.test", "password": "conformance-password"}
    client.post("/v1/users/register", json=account)
    login = client.post("/v1/users/login", json={"email": account["email"], "password": account["password"]})
    token = login.json()["data"]["token"]
    key = client.post("/v1/auth/api-keys", json={"name": "conformance"}, headers={"Authorization": f"Bearer {token}"})
    return {"Authorization": f"Bearer {key.json()['data']['api_key']}"}


def fuzz_env(app, settings) -> dict[str, str]:  # noqa: ARG001
    """Nothing: without ``FUZZ_VIRSTACK_TOKEN``, ``tools.fuzz`` registers two organizations itself
    (registration is public), exactly as it does against any deployment."""
    return {}
