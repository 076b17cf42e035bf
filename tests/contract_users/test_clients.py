"""Clients regenerated from the served per-API documents (issue 12 §2), as client teams do it.

Once per session (tools/client_check.py): a Python client per API with openapi-python-client 0.29
(nothing dropped, every module imports, mypy's error count printed) and TypeScript types with
openapi-typescript (no ``Record<string, never>`` outside webhooks/$defs; ``tsc --strict`` passes
on code building every operation's request and reading its response). Then one scenario per API
through the generated Python client against a live uvicorn server, reading typed attributes.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import utcnow
from gateway.app import create_app
from handlers.vertebro_voice.security import hash_password
from handlers.virtual_banker.security import mint_jwt
from tests.conftest import JWT_SECRET, LiveServer
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS
from tools import client_check

APIS = ("virtual-banker", "virstack-voiceai", "serviceai", "vertebro-voice")


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, client_check.PythonClient]]:
    out = Path(tempfile.mkdtemp(prefix="clients-"))
    generated = client_check.python_clients(APIS, out)
    for client in generated.values():
        sys.path.insert(0, str(client.path))
    yield generated
    for client in generated.values():
        sys.path.remove(str(client.path))


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    from core.settings import Settings

    tmp = tmp_path_factory.mktemp("clients-server")
    settings = Settings(database_url=f"sqlite:///{tmp / 'gateway.db'}", validate_responses=True,
                        virtual_banker_jwt_secret=JWT_SECRET, vb_default_rate_limit_per_minute=1000,
                        voice_file_storage_dir=str(tmp / "files"))
    with LiveServer(create_app(settings)) as live:
        yield live


@pytest.mark.timeout(900)
@pytest.mark.parametrize("api", APIS)
def test_python_client_regenerates_clean(clients, api):
    client = clients[api]
    print(f"{api}: dropped {len(client.dropped)}, import failures {len(client.import_failures)}, "
          f"mypy errors {client.mypy_errors}")
    assert client.dropped == []
    assert client.import_failures == []


@pytest.mark.timeout(900)
@pytest.mark.parametrize("api", APIS)
def test_typescript_types_are_usable(tmp_path, api):
    types = client_check.typescript_types(api, tmp_path)
    print(f"{api}: Record<string, never> {len(types.never_records)}, tsc --strict errors {types.tsc_errors}")
    assert types.never_records == []
    assert types.tsc_errors == 0, types.tsc_output


def _module(clients: dict[str, client_check.PythonClient], api: str, name: str) -> Any:
    return importlib.import_module(f"{clients[api].package.name}.{name}")


def test_virtual_banker_scenario(clients, server):
    pkg = "virtual-banker"
    client_mod = _module(clients, pkg, "client")
    create = _module(clients, pkg, "api.sessions.create_session")
    get = _module(clients, pkg, "api.sessions.get_session")
    voice = _module(clients, pkg, "api.voice.create_voice_session")
    models = _module(clients, pkg, "models")
    token = mint_jwt("tenant-123", "user-456", JWT_SECRET, 600)
    client = client_mod.AuthenticatedClient(base_url=f"{server.url}/v1", token=token)
    created = create.sync_detailed(client=client, body=models.CreateSessionRequest(
        tenant_id="tenant-123", user_id="user-456", auth_assertion=token))
    assert created.status_code == 201
    session_id = created.parsed.data.session_id
    assert session_id.startswith("sess-") and created.parsed.data.tenant_id == "tenant-123"
    read = get.sync(client=client, session_id=session_id)
    assert read.data.user_id == "user-456" and read.data.session_id == session_id
    attached = voice.sync(client=client, body=models.CreateVoiceSessionRequest(session_id=session_id))
    assert attached.data.session_id == session_id and attached.success is True


def test_virstack_scenario(clients, server):
    pkg = "virstack-voiceai"
    client_mod = _module(clients, pkg, "client")
    register = _module(clients, pkg, "api.users.register_user")
    login = _module(clients, pkg, "api.users.login")
    create_agent = _module(clients, pkg, "api.agents_crud.create_agent")
    get_agent = _module(clients, pkg, "api.agents_crud.get_agent")
    create_key = _module(clients, pkg, "api.auth.create_api_key")
    models = _module(clients, pkg, "models")
    anonymous = client_mod.Client(base_url=f"{server.url}/v1")
    account = {"organization_name": "Client Org", "first_name": "Ada", "last_name": "Client",
               "email": "ada@client.example", "password": "client-password-123"}
    registered = register.sync(client=anonymous, body=models.RegisterUserBody.from_dict(account))
    assert registered.success is True
    logged_in = login.sync(client=anonymous, body=models.LoginBody(email=account["email"],
                                                                   password=account["password"]))
    token = logged_in.data.token
    authed = client_mod.AuthenticatedClient(base_url=f"{server.url}/v1", token=token)
    key = create_key.sync(client=authed, body=models.CreateApiKeyBody(name="sdk"))
    assert key.data.api_key.startswith("vk-") and key.data.key_id
    agent = create_agent.sync(client=authed, body=models.CreateAgentBody.from_dict({"agent_settings": AGENT_SETTINGS}))
    agent_id = agent.data.agent_id
    fetched = get_agent.sync(client=authed, agent_id=agent_id)
    assert fetched.data.agent_id == agent_id
    assert fetched.data.agent_settings.identity.agent_name == "Customer Support Agent"


def test_serviceai_scenario(clients, server):
    pkg = "serviceai"
    client_mod = _module(clients, pkg, "client")
    version = _module(clients, pkg, "api.meta.get_api_version")
    csrf = _module(clients, pkg, "api.chatty.get_csrf_token")
    context = _module(clients, pkg, "api.chatty.get_chatty_voice_ai_context")
    users = server.app.bundles["serviceai"].users

    async def mint() -> str:
        await users.upsert_user(user_id="sdk-user", organization_id="sdk-org", now=utcnow(), display_name="SDK",
                                role="member", entitlements=["chatty-voice"])
        return (await users.mint_token("sdk-user", utcnow(), label="sdk"))[0]

    token = asyncio.run(mint())
    assert version.sync(client=client_mod.Client(base_url=server.url)).api_version == "1.1.24"
    authed = client_mod.AuthenticatedClient(base_url=server.url, token=token)
    assert len(csrf.sync(client=authed).token) >= 32
    assembled = context.sync(client=authed)
    assert "Chatty" in assembled.instructions and isinstance(assembled.knowledge_base_loaded, bool)


def test_vertebro_scenario(clients, server):
    pkg = "vertebro-voice"
    client_mod = _module(clients, pkg, "client")
    start = _module(clients, pkg, "api.voice_assistant.start_session")
    get = _module(clients, pkg, "api.voice_assistant.get_session")
    intent = _module(clients, pkg, "api.voice_assistant.detect_intent")
    models = _module(clients, pkg, "models")
    vertebro = server.app.bundles["vertebro-voice"]
    asyncio.run(vertebro.users.put("sdk", hash_password("sdk-password-1"), utcnow()))
    asyncio.run(vertebro.access.grant("demo", "sdk", utcnow()))  # an operator's `manage grant sdk demo`
    basic = "Basic " + base64.b64encode(b"sdk:sdk-password-1").decode()
    client = client_mod.Client(base_url=f"{server.url}/api/v1/voice", headers={"Authorization": basic})
    started = start.sync(client=client, body=models.VoiceSessionRequest(project="demo", language="en-US"))
    session_id = started.session_id
    assert len(session_id) == 32 and started.websocket_url.endswith(session_id)
    assert get.sync(client=client, session_id=session_id).session_id == session_id
    detected = intent.sync(client=client, body=models.IntentRequest(text="Show me the pricing page", project="demo"))
    assert detected.intent and 0 <= detected.confidence <= 1
