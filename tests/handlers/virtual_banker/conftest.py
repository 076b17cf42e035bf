"""A live Virtual Banker session with a voice session, for voice tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def vb_session(client, vb_jwt):
    """``(session_id, headers)`` of a fresh live session with a ``mock`` voice session."""
    token = vb_jwt()
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/v1/sessions", json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token},
                    headers=headers)
    session_id = r.json()["data"]["session_id"]
    r = client.post("/v1/voice/sessions", json={"session_id": session_id}, headers=headers)
    assert r.status_code == 201, r.text
    return session_id, headers
