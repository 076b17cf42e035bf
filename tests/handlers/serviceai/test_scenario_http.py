"""A ServiceAi app session end to end over real HTTP (uvicorn), with credentials and data
made by the documented operator command ``python -m handlers.serviceai.manage``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.handlers.serviceai.conftest import DATASET

ROOT = Path(__file__).resolve().parents[3]


def manage(settings, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "handlers.serviceai.manage", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_app_session_over_http(live_server, settings, tmp_path):
    data = tmp_path / "acme.json"
    data.write_text(json.dumps(DATASET), encoding="utf-8")
    assert json.loads(manage(settings, "import", "--org", "acme", str(data))) == {
        "entities": 6, "knowledgeBase": 3, "workflowStages": 5}
    token = manage(settings, "token", "--user", "tech-7", "--org", "acme", "--name", "Sam",
                   "--entitlement", "chatty-voice", "--label", "iPad")
    assert token.startswith("sai_")
    app_headers = {"Authorization": f"Bearer {token}", "X-Client-Version": "1.1.0"}

    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        # 1. version handshake before login
        version = http.get("/api/version", headers={"X-Client-Version": "1.1.0"})
        assert version.json() == {"apiVersion": "1.1.24", "minClientVersion": "1.0.0"}
        # 2. bootstrap: tools, prompt, realtime token (no backend here → HTTP fallback)
        tools = http.get("/api/chatty-voice/tools", headers=app_headers).json()
        assert "lookup_entity" in [t["function"]["name"] for t in tools]
        context = http.get("/api/chatty-voice/ai-context", headers=app_headers).json()
        assert context["knowledgeBaseLoaded"] and context["workflowStagesLoaded"]
        assert "talking with Sam of organisation acme" in context["instructions"]
        realtime = http.post("/api/realtime-token", json={"directWebRTC": True}, headers=app_headers).json()
        assert realtime["fallback"] is True and realtime["metadata"] == {"organizationId": "acme"}

        # 3. "Open the Okafor job and note that the boiler part arrived."
        def run(function, arguments):
            r = http.post("/api/chatty-voice/tools/execute", headers=app_headers,
                          json={"function": function, "arguments": arguments})
            assert r.status_code == 200
            return r.json()

        job = run("lookup_entity", {"query": "okafor", "entityType": "job"})["data"]["matches"][0]
        assert job["reference"] == "J-1043"
        assert run("navigate", {"entityId": job["id"]})["action"]["route"] == f"/jobs/{job['id']}"
        assert run("create_note", {"content": "Boiler part arrived.", "entityId": job["id"]})["success"]
        assert run("list_notes", {"entityId": job["id"]})["data"]["notes"][0]["content"] == "Boiler part arrived."
        # a member cannot move jobs; the operator grants the permission, the same token works
        assert run("update_job_stage", {"jobId": job["id"], "stage": "scheduled"})["code"] == "PERMISSION_DENIED"
        manage(settings, "user", "--user", "tech-7", "--org", "acme", "--role", "manager")
        assert run("update_job_stage", {"jobId": job["id"], "stage": "scheduled"})["data"]["stage"] == "scheduled"

        # 4. CSRF token for the desktop SDP exchange
        csrf = http.get("/api/csrf-token", headers=app_headers).json()["token"]
        assert len(csrf) >= 43

        # 5. the operator revokes the iPad's token
        (listed,) = [json.loads(line) for line in manage(settings, "tokens", "--user", "tech-7").splitlines()]
        assert listed["label"] == "iPad" and listed["lastUsed"] is not None
        manage(settings, "revoke", listed["id"])
        assert http.get("/api/chatty-voice/tools", headers=app_headers).status_code == 401
