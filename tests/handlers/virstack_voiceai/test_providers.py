"""Virstack provider catalog: seeded on first start, readable by everyone, editable by catalog admins."""

from __future__ import annotations

from tests.handlers.virstack_voiceai.conftest import register


def test_seeded_catalog(org):
    providers = org.get("/v1/providers").json()["data"]
    assert [p["provider_id"] for p in providers] == ["gemini", "grok"]
    gemini = org.get("/v1/providers/gemini").json()["data"]
    assert gemini["display_name"] == "Google Gemini"
    default = next(m for m in gemini["models"] if m["is_default"])
    assert default == {"model_id": "gemini-2.0-flash-live", "display_name": "Gemini 2.0 Flash Live",
                       "is_default": True, "voice_count": 30}
    models = org.get("/v1/providers/gemini/models").json()["data"]
    thinking = next(m for m in models if m["capabilities"]["supports_thinking"])
    assert thinking["validation_rules"]["required_fields"] == ["include_thoughts", "thinking_level"]
    zephyr = org.get("/v1/providers/gemini/models/gemini-2.0-flash-live").json()["data"]["voices"][0]
    assert zephyr == {"voice_id": "Zephyr", "display_name": "Zephyr", "gender": "female", "description": "Bright",
                      "is_active": True}
    grok = org.get("/v1/providers/grok/models").json()["data"][0]
    assert "Ara" in [v["voice_id"] for v in grok["voices"]]
    assert org.get("/v1/providers/openai").status_code == 404
    assert org.get("/v1/providers/gemini/models/nope").status_code == 404


def test_admin_crud_conflicts_and_visibility(org):
    created = org.post("/v1/admin/providers", json={"provider_id": "openai", "display_name": "OpenAI"})
    assert created.status_code == 201 and created.json()["data"]["is_active"] is True
    assert org.post("/v1/admin/providers", json={"provider_id": "openai", "display_name": "x"}).status_code == 409
    assert org.post("/v1/admin/providers", json={"provider_id": "Not A Slug", "display_name": "x"}).status_code == 400
    model = {"model_id": "gpt-4o-realtime", "display_name": "GPT-4o Realtime", "is_default": True,
             "capabilities": {"supports_tools": True}, "voices": [{"voice_id": "alloy", "is_active": True}]}
    assert org.post("/v1/admin/providers/openai/models", json=model).status_code == 201
    assert org.post("/v1/admin/providers/openai/models", json=model).status_code == 409
    assert org.post("/v1/admin/providers/nope/models", json=model).status_code == 404
    second = org.post("/v1/admin/providers/openai/models",
                      json={"model_id": "gpt-4o-mini-realtime", "display_name": "Mini", "is_default": True})
    assert second.status_code == 201
    defaults = [m["model_id"] for m in org.get("/v1/providers/openai/models").json()["data"] if m["is_default"]]
    assert defaults == ["gpt-4o-mini-realtime"]
    org.patch("/v1/admin/providers/openai/models/gpt-4o-mini-realtime", json={"is_active": False})
    assert [m["model_id"] for m in org.get("/v1/providers/openai/models").json()["data"]] == ["gpt-4o-realtime"]
    assert len(org.get("/v1/admin/providers/openai/models").json()["data"]) == 2
    org.patch("/v1/admin/providers/openai", json={"is_active": False, "display_name": "OpenAI GPT"})
    assert "openai" not in [p["provider_id"] for p in org.get("/v1/providers").json()["data"]]
    assert org.get("/v1/providers/openai").status_code == 404
    admin_view = {p["provider_id"]: p for p in org.get("/v1/admin/providers").json()["data"]}
    assert admin_view["openai"]["display_name"] == "OpenAI GPT" and admin_view["openai"]["is_active"] is False
    deleted = org.delete("/v1/admin/providers/openai")
    assert deleted.status_code == 200 and deleted.json()["data"]["models_deleted"] == 2
    assert org.delete("/v1/admin/providers/openai").status_code == 404
    assert org.patch("/v1/admin/providers/openai", json={"is_active": True}).status_code == 404
    assert org.delete("/v1/admin/providers/gemini/models/nope").status_code == 404


def test_catalog_is_reserved_to_catalog_admins(client, make_settings, org, other_org):
    # `org` registered first: the operator organization. `other_org`'s admin administers only its own org.
    assert other_org.get("/v1/admin/providers").status_code == 403
    assert other_org.post("/v1/admin/providers", json={"provider_id": "x", "display_name": "X"}).status_code == 403
    assert other_org.get("/v1/providers").status_code == 200
    assert org.get("/v1/admin/providers").status_code == 200


def test_listed_catalog_admin_emails(make_settings):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(virstack_catalog_admin_emails=["ops@platform.example"]))
    with TestClient(app) as client:
        register(client, "first")
        client.post("/v1/users/register", json={"organization_name": "Platform", "first_name": "O",
                                                "last_name": "P", "email": "OPS@platform.example",
                                                "password": "password-1"})
        token = client.post("/v1/users/login", json={"email": "ops@platform.example",
                                                     "password": "password-1"}).json()["data"]["token"]
        assert client.get("/v1/admin/providers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
