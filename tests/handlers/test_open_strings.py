"""Open strings have declared limits and the server enforces them (issue 13 item 6), over HTTP
against a live uvicorn server: a 10 MB organization name, an over-long persona, trunk name or
synthesis text is a 400 in the API's envelope and stores nothing; the limit itself is accepted.
The served documents declare a ``maxLength`` on every string of every request body of Virtual
Banker, Virstack and ServiceAi (ids, names, prompts, URLs …; the overlays give each reason)."""

from __future__ import annotations

import asyncio
import copy

import httpx
import pytest

from core.clock import utcnow
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS

HUGE = "x" * (10 * 1024 * 1024)


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, timeout=60) as c:
        yield c


def _register(http: httpx.Client, email: str, organization_name: str = "Acme") -> httpx.Response:
    return http.post("/v1/users/register", json={"email": email, "password": "long-enough-password",
                                                 "organization_name": organization_name,
                                                 "first_name": "A", "last_name": "B"})


def _virstack_auth(http: httpx.Client) -> dict[str, str]:
    assert _register(http, "owner@example.com").status_code == 201
    r = http.post("/v1/users/login", json={"email": "owner@example.com", "password": "long-enough-password"})
    return {"Authorization": f"Bearer {r.json()['data']['token']}"}


def test_ten_megabyte_organization_name_is_400_and_nothing_is_stored(http):
    r = _register(http, "huge@example.com", HUGE)
    assert r.status_code == 400, r.text[:300]
    assert r.json()["success"] is False and r.json()["code"] == 400
    assert _register(http, "huge@example.com", "o" * 200).status_code == 201  # the limit itself; email was free
    assert _register(http, "over@example.com", "o" * 201).status_code == 400


def test_agent_persona_and_trunk_name_limits(http):
    auth = _virstack_auth(http)
    settings = copy.deepcopy(AGENT_SETTINGS)
    settings["behavior"]["system_prompt"]["persona"] = "p" * 32001
    assert http.post("/v1/agent", json={"agent_settings": settings}, headers=auth).status_code == 400
    settings["behavior"]["system_prompt"]["persona"] = "p" * 32000
    assert http.post("/v1/agent", json={"agent_settings": settings}, headers=auth).status_code == 201
    listing = http.get("/v1/agent/list", headers=auth).json()["data"]
    assert len(listing) == 1  # the refused one changed nothing
    r = http.post("/v1/sip/trunks", json={"name": HUGE, "numbers": ["+15550001111"]}, headers=auth)
    assert r.status_code == 400 and r.json()["success"] is False
    assert http.get("/v1/sip/trunks", headers=auth).json()["data"] == []


def test_a_ten_megabyte_session_report_is_413(http):
    auth = _virstack_auth(http)
    report = {"room": "r", "events": [{"type": "conversation_item_added",
                                       "item": {"role": "user", "content": [HUGE]}}]}
    r = http.post("/v1/call/call-1-x/transcript", json=report, headers=auth)
    assert r.status_code == 413 and r.json() == {"success": False, "code": 413, "error": r.json()["error"],
                                                 "data": None}


def test_virtual_banker_limits(http, vb_auth):
    headers = vb_auth()
    r = http.post("/v1/sessions", json={"tenant_id": "t" * 129, "user_id": "user-456", "auth_assertion": "x"},
                  headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = http.post("/v1/voice/webhooks", headers=headers,
                  json={"url": "https://example.com/" + "a" * 2048, "events": ["session.created"]})
    assert r.status_code == 400, r.text


def test_serviceai_limit(http, app):
    sai = app.bundles["serviceai"]

    async def token() -> str:
        await sai.users.upsert_user(user_id="u", organization_id="org", now=utcnow(), display_name="U",
                                    role="member", entitlements=["chatty-voice"], permissions=[])
        return (await sai.users.mint_token("u", utcnow()))[0]

    headers = {"Authorization": f"Bearer {asyncio.run(token())}"}
    r = http.post("/api/chatty-voice/tools/execute", json={"function": "f" * 201, "arguments": {}}, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"]


@pytest.mark.parametrize("api", ["virtual-banker", "virstack-voiceai", "serviceai"])
def test_every_request_string_is_bounded(http, api):
    document = http.get(f"/openapi/{api}.json").json()
    schemas = document["components"]["schemas"]
    open_strings: list[str] = []

    def walk(node, where: str, seen: frozenset[str]) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]", seen)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], name, seen | {name})
            return
        kind = node.get("type")
        if (kind == "string" or (isinstance(kind, list) and "string" in kind)) and not (
                {"maxLength", "enum", "const"} & node.keys()
                or node.get("format") in ("binary", "byte", "date-time", "date", "uuid")):
            open_strings.append(where)
        for key, value in node.items():
            if key not in ("example", "examples", "default", "description"):
                walk(value, f"{where}.{key}", seen)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                walk(operation["requestBody"], f"{method.upper()} {path}", frozenset())
    assert open_strings == []
