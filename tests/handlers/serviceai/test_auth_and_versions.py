"""ServiceAi bearer tokens, the chatty-voice entitlement and the 426 / soft-upgrade handshake."""

from __future__ import annotations

from datetime import timedelta

import yaml

from core.clock import utcnow
from tests.handlers.serviceai.conftest import run

CHATTY_GETS = ["/api/chatty-voice/tools", "/api/chatty-voice/ai-context", "/api/csrf-token"]
CHATTY_POSTS = ["/api/chatty-voice/tools/execute", "/api/realtime-token"]


def call(client, path, headers):
    if path in CHATTY_POSTS:
        return client.post(path, json={}, headers=headers)
    return client.get(path, headers=headers)


def test_version_reports_contract_and_setting(client):
    r = client.get("/api/version")
    assert r.status_code == 200
    with open("specs/serviceai/openapi.yaml", encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    assert r.json() == {"apiVersion": spec["info"]["version"], "minClientVersion": "1.0.0"}
    assert r.json()["apiVersion"] == "1.1.24"
    assert "X-Upgrade-Available" not in r.headers


def test_version_follows_min_client_version_setting(make_settings):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    with TestClient(create_app(make_settings(serviceai_min_client_version="2.3.0"))) as c:
        assert c.get("/api/version").json()["minClientVersion"] == "2.3.0"
        hinted = c.get("/api/version", headers={"X-Client-Version": "2.1.9"})
        assert hinted.status_code == 200 and hinted.headers["X-Upgrade-Available"] == "2.3.0"
        # /api/version never refuses, even a client whose major is too old
        old = c.get("/api/version", headers={"X-Client-Version": "1.9.0"})
        assert old.status_code == 200 and old.headers["X-Upgrade-Available"] == "2.3.0"


def test_every_chatty_operation_needs_a_valid_token(client, make_user):
    bob = make_user("bob")
    for path in CHATTY_GETS + CHATTY_POSTS:
        r = call(client, path, {})
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED", path
        assert call(client, path, {"Authorization": "Bearer sai_not-a-real-token"}).status_code == 401
        assert call(client, path, {"Authorization": "Basic YTpi"}).status_code == 401
        assert call(client, path, bob).status_code == 200, path


def test_expired_revoked_and_disabled(client, make_user, sai):
    expired = make_user("carol", expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/chatty-voice/tools", headers=expired).status_code == 401
    live = make_user("dave")
    assert client.get("/api/chatty-voice/tools", headers=live).status_code == 200
    (record,) = [t for t in run(sai.users.list_tokens("dave"))]
    assert run(sai.users.revoke_token(record.token_id, utcnow()))
    assert client.get("/api/chatty-voice/tools", headers=live).status_code == 401
    other = make_user("erin")
    run(sai.users.upsert_user(user_id="erin", organization_id="acme-plumbing", now=utcnow(), disabled=True))
    assert client.get("/api/chatty-voice/tools", headers=other).status_code == 401


def test_tokens_are_stored_hashed(client, make_user, app):
    headers = make_user("frank")
    token = headers["Authorization"].split()[1]
    assert token.startswith("sai_") and len(token) >= 40
    from sqlalchemy import text

    with app.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM serviceai_api_token")).scalars().all()
    assert token not in stored and all(len(h) == 64 for h in stored)


def test_entitlement_is_required(client, make_user):
    headers = make_user("gina", entitlements=())
    for path in CHATTY_GETS + CHATTY_POSTS:
        r = call(client, path, headers)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == {"code": "ENTITLEMENT_REQUIRED", "message": "This account lacks the "
                                     "chatty-voice entitlement.", "details": {"entitlement": "chatty-voice"}}
    # granting it takes effect on the same token
    make_user("gina", entitlements=("chatty-voice",))
    for path in CHATTY_GETS + CHATTY_POSTS:
        assert call(client, path, headers).status_code == 200, path


def test_outdated_major_gets_426(client, make_user):
    headers = {**make_user("hank"), "X-Client-Version": "0.9.7"}
    for path in CHATTY_GETS + CHATTY_POSTS:
        r = call(client, path, headers)
        assert r.status_code == 426, r.text
        assert r.json() == {
            "error": {"code": "UPGRADE_REQUIRED", "message": "Client version 0.9.7 is no longer supported: major "
                      "version 1 or later is required (minClientVersion 1.0.0)."},
            "apiVersion": "1.1.24", "minClientVersion": "1.0.0", "clientVersion": "0.9.7",
        }


def test_426_comes_before_403_and_changes_nothing(client, make_user, sai):
    headers = {**make_user("ivan", entitlements=()), "X-Client-Version": "0.1.0"}
    assert client.get("/api/chatty-voice/tools", headers=headers).status_code == 426
    full = {**make_user("judy"), "X-Client-Version": "0.1.0"}
    r = client.post("/api/chatty-voice/tools/execute", headers=full,
                    json={"function": "create_note", "arguments": {"content": "refused"}})
    assert r.status_code == 426
    assert run(sai.records.list_notes("acme-plumbing")) == []


def test_soft_upgrade_hint_default_minimum(client, make_user):
    auth = make_user("kim")
    for version, hint in [(None, None), ("1.0.0", None), ("1.1.24", None), ("3.0.0", None), ("1", None),
                          ("1.2", None), ("1.0.0-beta.2", "1.0.0"), ("1.0.0+build.77", None)]:
        headers = {**auth, "X-Client-Version": version} if version else auth
        r = client.get("/api/chatty-voice/tools", headers=headers)
        assert r.status_code == 200
        assert r.headers.get("X-Upgrade-Available") == hint, version


def test_soft_upgrade_hint_against_a_raised_minimum(make_settings):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(serviceai_min_client_version="2.4.1"))
    bundle = app.bundles["serviceai"]

    async def token():
        await bundle.users.upsert_user(user_id="u", organization_id="o", now=utcnow(), entitlements=["chatty-voice"])
        return (await bundle.users.mint_token("u", utcnow()))[0]

    auth = {"Authorization": f"Bearer {run(token())}"}
    with TestClient(app) as c:
        def status(version):
            r = c.get("/api/chatty-voice/tools", headers={**auth, "X-Client-Version": version})
            return r.status_code, r.headers.get("X-Upgrade-Available")

        assert status("1.99.99") == (426, None)
        assert status("2.0.0") == (200, "2.4.1")
        assert status("2.4.0") == (200, "2.4.1")
        assert status("2.4.1-rc.1") == (200, "2.4.1")
        assert status("2.4.1") == (200, None)
        assert status("2.10.0") == (200, None)
        assert status("10.0.0") == (200, None)


def test_malformed_client_version_is_400(client, make_user):
    auth = make_user("leo")
    for bad in ["abc", "v1.2.3", "1.2.3.4", "01.2.3", "1..2", "", "1.2.3-", "9" * 70]:
        for r in (client.get("/api/version", headers={"X-Client-Version": bad}),
                  client.get("/api/chatty-voice/tools", headers={**auth, "X-Client-Version": bad})):
            assert r.status_code == 400, (bad, r.text)
            assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_semver_precedence():
    from handlers.serviceai.versioning import parse_version

    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2", "1.10.0", "2"]
    parsed = [parse_version(v) for v in ordered]
    assert all(p is not None for p in parsed)
    assert sorted(parsed, key=lambda v: v.key()) == parsed
    assert parse_version("1.2") == parse_version("1.2.0")
    assert parse_version("1.0.0+abc") == parse_version("1.0.0")
    assert parse_version("x") is None


def test_parse_version_cache_is_bounded_and_shares_immutable_values():
    """parse_version is remembered (it ran on ~5% of GET /api/version's CPU): callers sending a new
    X-Client-Version on every request cannot grow the cache past its bound, and a remembered
    result is the same immutable value, so no caller can change what another one gets."""
    import dataclasses

    import pytest

    from handlers.serviceai.versioning import parse_version

    for n in range(2000):
        parse_version(f"1.{n}.0-hostile.{n}")
        parse_version(f"not a version {n}")
    info = parse_version.cache_info()
    assert info.maxsize == 256 and info.currsize <= 256
    first, second = parse_version("3.1.4"), parse_version("3.1.4")
    assert first is second and first == parse_version(" 3.1.4 ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.major = 9  # type: ignore[misc,union-attr]
