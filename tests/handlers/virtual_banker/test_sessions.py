"""Virtual Banker sessions over HTTP, against a real SQLite database, responses validated."""

from __future__ import annotations

import time
from datetime import UTC

import pytest


def create(client, vb_jwt, tenant="tenant-123", user="user-456", **extra):
    token = vb_jwt(tenant, user)
    body = {"tenant_id": tenant, "user_id": user, "auth_assertion": token, **extra}
    return client.post("/v1/sessions", json=body, headers={"Authorization": f"Bearer {token}"})


def test_create_returns_token_config_and_expiry(client, vb_jwt):
    r = create(client, vb_jwt, portal_context={"route": "/account", "account_id": "acc-789"})
    assert r.status_code == 201
    data = r.json()["data"]
    assert data["session_id"].startswith("sess-")
    assert len(data["ephemeral_token"]) >= 40
    assert data["config"] == {
        "theme": {"primaryColor": "#0066cc"},
        "avatar_enabled": True,
        "greeting": "Hello! How can I help you today?",
        "allowed_tools": ["get_account_status", "create_ticket"],
        "policy": {"max_session_duration_minutes": 30, "rate_limit_per_minute": 1000, "require_consent": True},
    }
    from datetime import datetime

    created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert (expires - created).total_seconds() == 30 * 60


def test_token_is_stored_hashed(client, vb_jwt, app):
    token = create(client, vb_jwt).json()["data"]["ephemeral_token"]
    from sqlalchemy import text

    with app.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM vb_session")).scalars().all()
    assert token not in stored and len(stored[0]) == 64


def test_assertion_must_verify_and_match(client, vb_jwt):
    bearer = {"Authorization": f"Bearer {vb_jwt()}"}
    body = {"tenant_id": "tenant-123", "user_id": "user-456"}
    bad = client.post("/v1/sessions", json={**body, "auth_assertion": "jwt-token"}, headers=bearer)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "INVALID_AUTH_ASSERTION"
    forged = client.post("/v1/sessions", json={**body, "auth_assertion": vb_jwt(secret="x" * 40)}, headers=bearer)
    assert forged.status_code == 401
    other = client.post("/v1/sessions", json={**body, "auth_assertion": vb_jwt("tenant-9")}, headers=bearer)
    assert other.status_code == 403
    as_someone_else = client.post(
        "/v1/sessions", json={**body, "auth_assertion": vb_jwt()},
        headers={"Authorization": f"Bearer {vb_jwt(user='u2')}"},
    )
    assert as_someone_else.status_code == 403
    assert client.get("/v1/sessions", headers=bearer).json()["data"]["sessions"] == []


def test_list_get_only_callers_sessions(client, vb_jwt, vb_auth):
    mine = create(client, vb_jwt).json()["data"]["session_id"]
    theirs = create(client, vb_jwt, tenant="tenant-other").json()["data"]["session_id"]
    same_user_other_tenant = vb_auth("tenant-other", "user-456")
    listed = client.get("/v1/sessions", headers=vb_auth()).json()["data"]["sessions"]
    assert [s["session_id"] for s in listed] == [mine]
    assert "ephemeral_token" not in listed[0]
    assert client.get(f"/v1/sessions/{mine}", headers=vb_auth()).status_code == 200
    assert client.get(f"/v1/sessions/{theirs}", headers=vb_auth()).status_code == 404
    assert client.get(f"/v1/sessions/{mine}", headers=same_user_other_tenant).status_code == 404
    assert client.delete(f"/v1/sessions/{theirs}", headers=vb_auth()).status_code == 404
    assert client.get(f"/v1/sessions/{theirs}", headers=same_user_other_tenant).status_code == 200


def test_ephemeral_token_is_scoped_to_its_session(client, vb_jwt):
    first = create(client, vb_jwt).json()["data"]
    second = create(client, vb_jwt).json()["data"]
    eph = {"Authorization": f"Bearer {first['ephemeral_token']}"}
    assert client.get(f"/v1/sessions/{first['session_id']}", headers=eph).status_code == 200
    assert client.get(f"/v1/sessions/{second['session_id']}", headers=eph).status_code == 404
    listed = client.get("/v1/sessions", headers=eph).json()["data"]["sessions"]
    assert [s["session_id"] for s in listed] == [first["session_id"]]


@pytest.mark.parametrize("how", ["delete", "post_end"])
def test_end_kills_session_and_token(client, vb_jwt, vb_auth, how):
    data = create(client, vb_jwt).json()["data"]
    sid, eph = data["session_id"], {"Authorization": f"Bearer {data['ephemeral_token']}"}
    if how == "delete":
        r = client.delete(f"/v1/sessions/{sid}", headers=vb_auth())
        assert r.status_code == 200 and r.json()["success"] is True
    else:
        r = client.post(f"/v1/sessions/{sid}/end", headers=vb_auth())
        assert r.status_code == 200 and r.json()["status"] == "ended"
    assert client.get(f"/v1/sessions/{sid}", headers=vb_auth()).status_code == 404
    assert client.get(f"/v1/sessions/{sid}", headers=eph).status_code == 401
    assert client.delete(f"/v1/sessions/{sid}", headers=vb_auth()).status_code == 404
    assert client.post(f"/v1/sessions/{sid}/refresh-token", headers=vb_auth()).status_code == 404


def test_refresh_rotates_token(client, vb_jwt, vb_auth):
    data = create(client, vb_jwt).json()["data"]
    sid, old = data["session_id"], data["ephemeral_token"]
    r = client.post(f"/v1/sessions/{sid}/refresh-token", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 200
    new = r.json()["data"]["ephemeral_token"]
    assert new != old
    from datetime import datetime

    expires = datetime.fromisoformat(r.json()["data"]["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - datetime.now(UTC)).total_seconds() - 30 * 60) < 5
    assert client.get(f"/v1/sessions/{sid}", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get(f"/v1/sessions/{sid}", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_expired_session_is_gone(make_settings, vb_jwt):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(vb_session_duration_minutes=0))
    with TestClient(app) as c:
        data = create(c, vb_jwt).json()["data"]
        jwt = {"Authorization": f"Bearer {vb_jwt()}"}
        assert c.get(f"/v1/sessions/{data['session_id']}", headers=jwt).status_code == 404
        assert c.get("/v1/sessions", headers={"Authorization": f"Bearer {data['ephemeral_token']}"}).status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
)
def test_bad_credentials_are_401_in_vb_envelope(client, header):
    headers = {"Authorization": header} if header else {}
    r = client.get("/v1/sessions", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "UNAUTHORIZED" and "timestamp" in body


def test_expired_jwt_is_401(client, vb_jwt):
    r = client.get("/v1/sessions", headers={"Authorization": f"Bearer {vb_jwt(ttl=-10)}"})
    assert r.status_code == 401


def test_rate_limit_headers_and_429(make_settings, vb_jwt):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(vb_default_rate_limit_per_minute=3))
    headers = {"Authorization": f"Bearer {vb_jwt()}"}
    with TestClient(app) as c:
        seen = [c.get("/v1/sessions", headers=headers) for _ in range(3)]
        before = time.time()
        seen.append(c.get("/v1/sessions", headers=headers))
        after = time.time()
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
        assert all(r.headers["X-RateLimit-Limit"] == "3" for r in seen)
        assert int(seen[3].headers["X-RateLimit-Reset"]) > 0
        assert seen[3].json()["error"]["code"] == "RATE_LIMITED"
        # Retry-After: whole seconds until X-RateLimit-Reset (issue 13), rounded up: never early
        retry, reset = int(seen[3].headers["Retry-After"]), int(seen[3].headers["X-RateLimit-Reset"])
        assert 1 <= retry <= 60  # never past the 60 s window
        # never early: X-RateLimit-Reset is rounded up to the second, Retry-After rounds the exact time up
        assert reset - after - 1 < retry < reset - before + 1
        assert all("Retry-After" not in r.headers for r in seen[:3])
        # another user of the same tenant has their own budget
        assert c.get("/v1/sessions", headers={"Authorization": f"Bearer {vb_jwt(user='u2')}"}).status_code == 200


def test_tenant_policy_overrides_rate_limit(make_settings, vb_jwt):
    import asyncio

    from starlette.testclient import TestClient

    from core.clock import utcnow
    from gateway.app import create_app

    app = create_app(make_settings(vb_default_rate_limit_per_minute=100))
    overrides = {"policy": {"rate_limit_per_minute": 1}}
    asyncio.run(app.bundles["virtual-banker"].tenants.set_overrides("tenant-123", overrides, utcnow()))
    with TestClient(app) as c:
        headers = {"Authorization": f"Bearer {vb_jwt()}"}
        assert [c.get("/v1/sessions", headers=headers).status_code for _ in range(2)] == [200, 429]


def test_rejected_request_changes_nothing(client, vb_jwt, vb_auth):
    bearer = vb_auth()
    for bad in (b'{"tenant_id": "tenant-123"', b'\xff\xfe', b'{"tenant_id": 5}', b"[]"):
        r = client.post("/v1/sessions", content=bad, headers={**bearer, "Content-Type": "application/json"})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert client.get("/v1/sessions", headers=bearer).json()["data"]["sessions"] == []


def test_rate_limit_headers_on_every_success_form(client, vb_jwt, vb_session):
    """A 201 Reply, a 200 model and a streamed Response all carry the three headers."""
    session_id, headers = vb_session
    answers = [
        create(client, vb_jwt),
        client.get("/v1/sessions", headers=headers),
        client.post(f"/v1/sessions/{session_id}/refresh-token", headers=headers),
        client.post(f"/v1/voice/sessions/{session_id}/synthesize-stream", json={"text": "Hi."}, headers=headers),
    ]
    assert [r.status_code for r in answers] == [201, 200, 200, 200]
    for r in answers:
        assert int(r.headers["X-RateLimit-Limit"]) == 1000
        assert 0 <= int(r.headers["X-RateLimit-Remaining"]) < 1000
        assert int(r.headers["X-RateLimit-Reset"]) > time.time() - 1
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == len(remaining)
