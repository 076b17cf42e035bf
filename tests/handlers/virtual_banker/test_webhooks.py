"""Webhook registration and delivery to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from adapters.webhooks import verify
from gateway.app import create_app
from tests.handlers.virtual_banker.conftest import Receiver

SECRET = "whsec-test-0123456789"


@pytest.fixture
def hook_settings(make_settings):
    return make_settings(webhook_allowed_networks=["127.0.0.1/32"], webhook_base_delay=0.05)


def _session(c, vb_jwt):
    token = vb_jwt()
    headers = {"Authorization": f"Bearer {token}"}
    sid = c.post("/v1/sessions", json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token},
                 headers=headers).json()["data"]["session_id"]
    return sid, headers


def _register(c, headers, url, events, secret=SECRET):
    r = c.post("/v1/voice/webhooks", json={"url": url, "events": events, "secret": secret}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_signed_delivery_of_voice_events(hook_settings, vb_jwt, receiver):
    with TestClient(create_app(hook_settings)) as c:
        sid, headers = _session(c, vb_jwt)
        hook = _register(c, headers, receiver.url, ["session.created", "synthesis.complete", "session.state_changed",
                                                    "session.ended"])
        assert hook["active"] is True and hook["webhook_id"].startswith("wh-") and "secret" not in hook
        c.post("/v1/voice/sessions", json={"session_id": sid}, headers=headers)
        c.post(f"/v1/voice/sessions/{sid}/synthesize", json={"text": "Good morning."}, headers=headers)
        c.delete(f"/v1/sessions/{sid}", headers=headers)
        receiver.wait(lambda: "session.ended" in receiver.events())
    events = receiver.events()
    # deliveries are jobs run in parallel: unordered (each carries its event's timestamp)
    assert {"session.created", "synthesis.complete", "session.ended"} <= set(events)
    changes = [json.loads(r["body"])["data"] for r in receiver.accepted
               if json.loads(r["body"])["event"] == "session.state_changed"]
    assert {"session_id": sid, "from": "idle", "to": "speaking"} in changes
    assert {"session_id": sid, "from": "speaking", "to": "idle"} in changes
    for record in receiver.accepted:
        h = record["headers"]
        assert verify(SECRET, int(h["X-VB-Timestamp"]), record["body"], h["X-VB-Signature"])
        assert not verify("wrong-secret", int(h["X-VB-Timestamp"]), record["body"], h["X-VB-Signature"])
        assert h["X-VB-Event"] == json.loads(record["body"])["event"] and h["X-VB-Delivery"].startswith("dlv-")


def test_retry_until_success_delivers_once(hook_settings, vb_jwt):
    receiver = Receiver(fail_first=2)
    try:
        app = create_app(hook_settings)
        with TestClient(app) as c:
            sid, headers = _session(c, vb_jwt)
            hook = _register(c, headers, receiver.url, ["session.created"])
            c.post("/v1/voice/sessions", json={"session_id": sid}, headers=headers)
            receiver.wait(lambda: receiver.accepted)
            time.sleep(0.3)  # nothing more may arrive
            import asyncio

            log = asyncio.run(app.bundles["virtual-banker"].webhooks.deliveries(hook["webhook_id"]))
        assert len(receiver.attempts) == 3 and len(receiver.accepted) == 1
        ids = {r["headers"]["X-VB-Delivery"] for r in receiver.attempts}
        assert len(ids) == 1  # the same delivery, retried
        assert log == [{"delivery_id": ids.pop(), "event": "session.created", "status": "delivered", "attempts": 3,
                        "last_status": 204, "last_error": None}]
    finally:
        receiver.close()


def test_restart_mid_retry_loses_nothing(make_settings, vb_jwt):
    receiver = Receiver(fail_first=1)
    settings = make_settings(webhook_allowed_networks=["127.0.0.1/32"], webhook_base_delay=1.0)
    try:
        with TestClient(create_app(settings)) as c:
            sid, headers = _session(c, vb_jwt)
            _register(c, headers, receiver.url, ["session.created"])
            c.post("/v1/voice/sessions", json={"session_id": sid}, headers=headers)
            receiver.wait(lambda: receiver.attempts)  # first attempt failed; retry due in 1 s
        assert receiver.accepted == []
        with TestClient(create_app(settings)):  # a new process on the same database
            receiver.wait(lambda: receiver.accepted)
            time.sleep(0.2)
        assert len(receiver.accepted) == 1 and len(receiver.attempts) == 2
    finally:
        receiver.close()


def test_registration_guards(make_settings, vb_jwt, receiver):
    with TestClient(create_app(make_settings())) as c:  # loopback not allowed
        sid, headers = _session(c, vb_jwt)
        for url in (receiver.url, "http://localhost/x", "http://10.0.0.5/x", "http://169.254.169.254/latest",
                    "http://[::1]/x", "ftp://example.com/x"):
            r = c.post("/v1/voice/webhooks", json={"url": url, "events": ["session.created"]}, headers=headers)
            assert r.status_code in (400, 403), (url, r.text)
            if r.status_code == 403:
                assert r.json()["error"]["code"] == "UNSAFE_WEBHOOK_URL"
        eph = c.post(f"/v1/sessions/{sid}/refresh-token", headers=headers).json()["data"]["ephemeral_token"]
        r = c.post("/v1/voice/webhooks", json={"url": "https://example.com/h", "events": ["session.created"]},
                   headers={"Authorization": f"Bearer {eph}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        r = c.post("/v1/voice/webhooks", json={"url": "https://example.com/h", "events": ["nope"]}, headers=headers)
        assert r.status_code == 400


def test_secret_is_stored_encrypted(hook_settings, vb_jwt, receiver):
    app = create_app(hook_settings)
    with TestClient(app) as c:
        _, headers = _session(c, vb_jwt)
        _register(c, headers, receiver.url, ["session.created"])
    from sqlalchemy import text

    with app.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_encrypted FROM vb_webhook")).scalar()
    assert stored and SECRET not in stored
