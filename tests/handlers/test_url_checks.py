"""URL checks over HTTP against a live uvicorn server (issue 13 item 10): one parser (WHATWG)
decides, its canonical form is what is checked, stored and called; Virstack custom-tool
``webhook_url`` and ``filler_audio_urls`` accept only http(s) to public addresses."""

from __future__ import annotations

import asyncio
import copy

import httpx
import pytest

from core.clock import utcnow
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS

HOSTILE = ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http://169.254.169.254/latest/meta-data/",
           "http://127.0.0.1:8081/v1/agent/list", "http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/",
           "http://localhost/x", "http://10.0.0.5/x", "http://user:pw@example.com/x", "ftp://example.com/x"]


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        yield c


def test_virtual_banker_refuses_and_stores_nothing(http, vb_auth, app):
    for url in HOSTILE:
        r = http.post("/v1/voice/webhooks", json={"url": url, "events": ["session.created"]}, headers=vb_auth())
        assert r.status_code in (400, 403), (url, r.text)
        if r.status_code == 403:
            assert r.json()["error"]["code"] == "UNSAFE_WEBHOOK_URL"
    webhooks = app.bundles["virtual-banker"].webhooks  # nothing was stored: an event goes nowhere
    assert asyncio.run(webhooks.enqueue("tenant-123", "session.created", "{}", utcnow())) == []


def test_virtual_banker_stores_the_canonical_url_it_checked(http, vb_auth, app):
    # A backslash is no URI character (the contract's `format: uri`): refused before any parsing,
    # so nobody can read 127.0.0.1 as the host of what WHATWG parses as 1.1.1.1.
    r = http.post("/v1/voice/webhooks", json={"url": "http://1.1.1.1\\@127.0.0.1/", "events": ["session.created"]},
                  headers=vb_auth())
    assert r.status_code == 400, r.text
    r = http.post("/v1/voice/webhooks", json={"url": "HTTPS://Example.COM:443/a/./b%7e", "events": ["session.created"]},
                  headers=vb_auth())
    assert r.status_code == 201 and r.json()["data"]["url"] == "https://example.com/a/b%7e", r.text
    r = http.post("/v1/voice/webhooks", json={"url": "https://Example.com", "events": ["session.created"]},
                  headers=vb_auth())  # an empty path stays empty: the canonical form never grows
    assert r.status_code == 201 and r.json()["data"]["url"] == "https://example.com", r.text


def _virstack(http: httpx.Client) -> dict[str, str]:
    account = {"email": "urls@example.com", "password": "long-enough-password"}
    assert http.post("/v1/users/register", json={**account, "organization_name": "U", "first_name": "A",
                                                 "last_name": "B"}).status_code == 201
    return {"Authorization": f"Bearer {http.post('/v1/users/login', json=account).json()['data']['token']}"}


def _with_tool_urls(webhook_url: str, filler: list[str] | None = None) -> dict:
    settings = copy.deepcopy(AGENT_SETTINGS)
    tool = settings["capabilities"]["tools"][1]
    tool["webhook_url"] = webhook_url
    if filler is not None:
        tool["filler_audio_urls"] = filler
        settings["capabilities"]["tools"][0]["filler_audio_urls"] = filler
    return {"agent_settings": settings}


def test_virstack_tool_urls(http):
    auth = _virstack(http)
    refused = []
    for url in HOSTILE:
        refused.append(http.post("/v1/agent", json=_with_tool_urls(url), headers=auth).status_code)
        refused.append(http.post("/v1/agent", json=_with_tool_urls("https://example.com/hook", [url]),
                                 headers=auth).status_code)
    assert set(refused) == {400}, refused
    assert http.get("/v1/agent/list", headers=auth).json()["data"] == []
    r = http.post("/v1/agent", json=_with_tool_urls("HTTPS://Example.COM/hook", ["HTTPS://CDN.Example.com:443/a/./b.mp3"]),
                  headers=auth)
    assert r.status_code == 201, r.text
    tools = r.json()["data"]["agent_settings"]["capabilities"]["tools"]
    assert tools[1]["webhook_url"] == "https://example.com/hook"
    assert tools[1]["filler_audio_urls"] == ["https://cdn.example.com/a/b.mp3"]
    agent_id = r.json()["data"]["agent_id"]
    r = http.patch(f"/v1/agent/{agent_id}", json={"agent_settings": {"capabilities": {"tools": [
        {**AGENT_SETTINGS["capabilities"]["tools"][1], "webhook_url": "http://169.254.169.254/"}]}}}, headers=auth)
    assert r.status_code == 400, r.text


def _private_name() -> str | None:
    """A host name this machine resolves to a non-public address (its own name, usually), else None."""
    import ipaddress
    import socket

    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None
    return name if addresses and not any(ipaddress.ip_address(a).is_global for a in addresses) else None


def test_virstack_tool_url_whose_name_resolves_inside_is_refused_naming_the_field(http):
    name = _private_name()
    if name is None or name.endswith("localhost"):
        pytest.skip("this machine's name does not resolve to a non-public address")
    auth = _virstack(http)
    settings = copy.deepcopy(AGENT_SETTINGS)
    settings["capabilities"]["tools"][1]["filler_audio_urls"] = ["https://93.184.216.34/a.mp3",
                                                                 f"http://{name}:8081/b.mp3"]
    r = http.post("/v1/agent", json={"agent_settings": settings}, headers=auth)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("agent_settings.capabilities.tools.1.filler_audio_urls.1: "), r.text
    assert http.get("/v1/agent/list", headers=auth).json()["data"] == []
