"""Virstack identity and tenancy over HTTP: registration, login/logout, members, API keys."""

from __future__ import annotations

import jwt
from sqlalchemy import text

from tests.handlers.virstack_voiceai.conftest import register


def test_register_creates_org_and_admin_with_argon2_hash(client, app):
    r = client.post("/v1/users/register", json={"organization_name": "Acme", "first_name": "John", "last_name": "Doe",
                                                "email": "John@Acme.com", "password": "password123"})
    assert r.status_code == 201
    data = r.json()["data"]
    assert data["user"]["role"] == "admin" and data["user"]["email"] == "john@acme.com"
    assert data["organization"]["agent_server_name"].startswith("agent-server-")
    with app.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM vs_user")).scalar_one()
    assert stored.startswith("$argon2id$") and "password123" not in stored


def test_email_is_unique_case_insensitively(client):
    body = {"organization_name": "A", "first_name": "a", "last_name": "b", "email": "dup@x.io", "password": "secret1"}
    assert client.post("/v1/users/register", json=body).status_code == 201
    again = client.post("/v1/users/register", json={**body, "email": "DUP@X.IO"})
    assert again.status_code == 409
    assert again.json() == {"success": False, "code": 409, "error": "Email already in use", "data": None}


def test_register_validation(client):
    short = client.post("/v1/users/register", json={"organization_name": "A", "first_name": "a", "last_name": "b",
                                                    "email": "a@b.c", "password": "123"})
    assert short.status_code == 400 and short.json()["success"] is False and short.json()["data"] is None
    bad_email = client.post("/v1/users/register", json={"organization_name": "A", "first_name": "a",
                                                        "last_name": "b", "email": "not-an-email",
                                                        "password": "123456"})
    assert bad_email.status_code == 400


def test_login_jwt_claims_and_wrong_password(client, settings, org):
    claims = jwt.decode(org.token, settings.virstack_jwt_secret, algorithms=["HS256"], issuer="virstack")
    assert claims["sub"] == org.user_id and claims["org_id"] == org.org_id and claims["role"] == "admin"
    assert claims["exp"] > claims["iat"] and claims["jti"]
    bad = client.post("/v1/users/login", json={"email": org.email, "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["error"] == "Invalid email or password"
    assert client.post("/v1/users/login", json={"email": "nobody@x.io", "password": "whatever"}).status_code == 401


def test_logout_revokes_that_token_only(client, org):
    second = client.post("/v1/users/login", json={"email": org.email, "password": org.password}).json()["data"]["token"]
    assert client.get("/v1/users/members", headers=org.jwt).status_code == 200
    out = client.post("/v1/users/logout", headers=org.jwt)
    assert out.status_code == 200 and out.json()["data"] == {"revoked": True}
    assert client.get("/v1/users/members", headers=org.jwt).status_code == 401
    assert client.get("/v1/users/members", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.get("/v1/users/members", headers=org.key).status_code == 200  # API keys are not sessions
    assert client.post("/v1/users/logout").json()["data"] == {"revoked": False}


def test_tokens_of_another_secret_or_garbage_are_refused(client, org):
    forged = jwt.encode({"sub": org.user_id, "org_id": org.org_id, "role": "admin", "jti": "x", "iss": "virstack",
                         "iat": 1, "exp": 4_000_000_000}, "another-secret-0123456789-0123456789", algorithm="HS256")
    for token in (forged, "vk-00000000000000000000000000000000", "garbage"):
        r = client.get("/v1/users/members", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["code"] == 401
    assert client.get("/v1/users/members").status_code == 401


def test_members_and_roles(client, org):
    member = client.post("/v1/users/member", headers=org.jwt, json={"first_name": "Jane", "last_name": "Smith",
                                                                    "email": "jane@acme.example",
                                                                    "password": "secret1"})
    assert member.status_code == 201 and member.json()["data"]["role"] == "member"
    assert client.post("/v1/users/member", headers=org.jwt, json={"first_name": "J", "last_name": "S",
                                                                  "email": "JANE@acme.example",
                                                                  "password": "secret1"}).status_code == 409
    emails = [u["email"] for u in client.get("/v1/users/members", headers=org.key).json()["data"]]
    assert emails == [org.email, "jane@acme.example"]
    jane = client.post("/v1/users/login", json={"email": "jane@acme.example", "password": "secret1"}).json()["data"]
    jane_auth = {"Authorization": f"Bearer {jane['token']}"}
    forbidden = client.post("/v1/users/member", headers=jane_auth, json={"first_name": "x", "last_name": "y",
                                                                        "email": "x@y.z", "password": "secret1"})
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "Admin access required"
    assert client.get("/v1/users/members", headers=jane_auth).status_code == 200
    assert client.get("/v1/admin/providers", headers=jane_auth).status_code == 403


def test_api_key_shown_once_stored_hashed_revoked_at_once(client, app, org):
    created = client.post("/v1/auth/api-keys", headers=org.key, json={"name": "Production Key"}).json()["data"]
    raw = created["api_key"]
    assert raw.startswith("vk-") and len(raw) == 35 and all(c in "0123456789abcdef" for c in raw[3:])
    with app.services.db.engine.connect() as conn:
        hashes = conn.execute(text("SELECT key_hash FROM vs_api_key")).scalars().all()
    assert raw not in hashes and all(len(h) == 64 for h in hashes)
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get("/v1/organizations/worker-name", headers=auth).status_code == 200
    revoked = client.delete(f"/v1/auth/api-keys/{created['key_id']}", headers=org.jwt)
    assert revoked.status_code == 200 and revoked.json()["data"] == {"key_id": created["key_id"], "revoked": True}
    assert client.get("/v1/organizations/worker-name", headers=auth).status_code == 401
    assert client.delete(f"/v1/auth/api-keys/{created['key_id']}", headers=org.jwt).status_code == 404


def test_worker_name_is_stable_and_unique(client, org, other_org):
    first = org.get("/v1/organizations/worker-name").json()["data"]["worker_name"]
    assert org.get("/v1/organizations/worker-name").json()["data"]["worker_name"] == first
    assert client.get("/v1/organizations/worker-name", headers=org.jwt).json()["data"]["worker_name"] == first
    assert other_org.get("/v1/organizations/worker-name").json()["data"]["worker_name"] != first
    again = register(client)
    assert again.get("/v1/organizations/worker-name").json()["data"]["worker_name"] not in (first,)
