"""Virstack fixtures: organizations registered over HTTP, their login tokens and API keys."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

LIVEKIT_KEY = "APItestkey123"
LIVEKIT_SECRET = "livekit-test-secret-0123456789-0123456789"
_counter = itertools.count()


@pytest.fixture
def settings(make_settings):
    return make_settings(livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET,
                         virstack_jwt_secret="virstack-test-jwt-secret-0123456789-abcdef",
                         livekit_url="wss://livekit.test")


@dataclass
class Org:
    """One registered organization: its admin's JWT and an API key."""

    client: Any
    email: str
    password: str
    token: str
    api_key: str
    org_id: str
    user_id: str

    @property
    def jwt(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def key(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.key, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self.key, **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self.key, **kw)

    def put(self, url, **kw):
        return self.client.put(url, headers=self.key, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self.key, **kw)


def register(client, name: str | None = None) -> Org:
    n = next(_counter)
    email = f"admin{n}@{name or 'org'}{n}.example"
    password = "password-123"
    r = client.post("/v1/users/register", json={"organization_name": name or f"Org {n}", "first_name": "Ada",
                                                "last_name": "Admin", "email": email, "password": password})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    login = client.post("/v1/users/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    token = login.json()["data"]["token"]
    key = client.post("/v1/auth/api-keys", json={"name": "tests"}, headers={"Authorization": f"Bearer {token}"})
    assert key.status_code == 201, key.text
    return Org(client, email, password, token, key.json()["data"]["api_key"], data["organization"]["organization_id"],
               data["user"]["user_id"])


@pytest.fixture
def org(client) -> Org:
    return register(client, "acme")


@pytest.fixture
def other_org(client, org) -> Org:  # registered after `org`: not the operator organization
    return register(client, "globex")


AGENT_SETTINGS: dict[str, Any] = {
    "identity": {"agent_name": "Customer Support Agent"},
    "engine": {"type": "realtime", "provider": "gemini", "model": "gemini-2.0-flash-live",
               "voice_settings": {"voice_id": "Aoede", "speed": 1, "language": "en"}},
    "behavior": {"system_prompt": {"persona": "You are a helpful customer support agent.",
                                   "task": "Help users with their orders."},
                 "greeting_message": "Hello! How can I help you today?"},
    "call_handling": {"inbound_enabled": True},
    "capabilities": {
        "tools": [
            {"type": "built_in", "tool_name": "end_call", "description": "End the call",
             "config": {"delete_room": True}},
            {"type": "custom", "tool_name": "order_status", "description": "Look up an order",
             "webhook_url": "https://example.com/orders",
             "schema": {"name": "order_status", "strict": True,
                        "schema": {"type": "object", "properties": {"order_id": {"type": "string"}},
                                   "required": ["order_id"], "additionalProperties": False}}},
        ],
        "post_call_analysis_schema": [
            {"name": "order_id", "type": "string", "description": "The order number the caller asked about"},
            {"name": "refund_requested", "type": "boolean", "description": "Whether the caller asked for a refund"},
        ],
    },
    "metadata": {"department": "support"},
}


@pytest.fixture
def make_agent() -> Callable[..., dict[str, Any]]:
    def make(owner: Org, **overrides) -> dict[str, Any]:
        settings = {**AGENT_SETTINGS, **overrides}
        r = owner.post("/v1/agent", json={"agent_settings": settings})
        assert r.status_code == 201, r.text
        return r.json()["data"]

    return make
