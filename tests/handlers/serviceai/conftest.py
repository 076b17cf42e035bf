"""ServiceAi fixtures: users and bearer tokens created through the ServiceAi stores, and a
small organisation dataset (entities, workflow stages, knowledge base) loaded like an operator
would (``handlers.serviceai.manage.import_data``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

from core.clock import utcnow
from handlers.serviceai.bundle import ServiceaiBundle
from handlers.serviceai.manage import import_data

ORG = "acme-plumbing"

DATASET = {
    "workflowStages": [
        {"key": "lead", "name": "Lead", "description": "Enquiry received, not yet visited."},
        {"key": "survey", "name": "Site survey", "description": "A technician measures and scans the site."},
        {"key": "quoted", "name": "Quoted", "description": "Quote sent, waiting for the customer."},
        {"key": "scheduled", "name": "Scheduled"},
        {"key": "done", "name": "Completed"},
    ],
    "entities": [
        {"id": "cus_smith", "type": "customer", "name": "Jane Smith", "reference": "C-100",
         "attributes": {"phone": "+44 20 7946 0001", "city": "Leeds"}},
        {"id": "cus_smithson", "type": "customer", "name": "Smithson Bakery Ltd", "reference": "C-101"},
        {"id": "cus_okafor", "type": "customer", "name": "Chidi Okafor", "reference": "C-102"},
        {"id": "job_1042", "type": "job", "name": "Smith kitchen remodel", "reference": "J-1042", "stage": "lead",
         "attributes": {"customerId": "cus_smith"}},
        {"id": "job_1043", "type": "job", "name": "Okafor boiler replacement", "reference": "J-1043",
         "stage": "quoted"},
        {"id": "site_9", "type": "site", "name": "Smithson Bakery, 4 Mill Lane", "reference": "S-9"},
    ],
    "knowledgeBase": [
        {"title": "Call-out fees", "body": "A standard call-out costs 80 GBP within the ring road and 110 GBP "
                                            "outside it. Emergency call-outs after 18:00 cost 150 GBP.",
         "tags": ["pricing"]},
        {"title": "Boiler warranty", "body": "Boilers we install carry a 7-year manufacturer warranty when "
                                              "serviced every year by us.", "tags": ["warranty"]},
        {"title": "Opening hours", "body": "The office is open Monday to Friday 08:00-17:30."},
    ],
}


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def sai(app) -> ServiceaiBundle:
    """The app's ServiceAi bundle (same stores the handlers use)."""
    return app.bundles["serviceai"]


@pytest.fixture
def make_user(sai) -> Callable[..., dict[str, str]]:
    """Create (or update) a user and mint a token: returns the ``Authorization`` headers."""

    def make(user: str = "alice", org: str = ORG, *, role: str = "member", entitlements=("chatty-voice",),
             permissions=(), expires_at: datetime | None = None, version: str | None = None) -> dict[str, str]:
        async def go() -> str:
            await sai.users.upsert_user(user_id=user, organization_id=org, now=utcnow(), display_name=user.title(),
                                        role=role, entitlements=list(entitlements), permissions=list(permissions))
            token, _ = await sai.users.mint_token(user, utcnow(), expires_at=expires_at)
            return token

        headers = {"Authorization": f"Bearer {run(go())}"}
        if version:
            headers["X-Client-Version"] = version
        return headers

    return make


@pytest.fixture
def dataset(sai) -> dict:
    run(import_data(sai, ORG, DATASET))
    return DATASET


@pytest.fixture
def alice(make_user) -> dict[str, str]:
    return make_user("alice")


def execute(client, headers, function=None, arguments=None, **extra):
    body = dict(extra)
    if function is not None:
        body["function"] = function
    if arguments is not None:
        body["arguments"] = arguments
    r = client.post("/api/chatty-voice/tools/execute", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
