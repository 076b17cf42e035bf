"""Issue 13 item 3: nobody sees what is not theirs. Two HTTP Basic users (and a colleague and an admin)
over a live uvicorn server: every operation that takes an id or a project, tried on another user's
data, answers exactly what a missing id answers (404, same body) and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import uuid

import anyio
import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from core.clock import utcnow
from handlers.vertebro_voice.security import hash_password
from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, speech_wav

USERS = {"alice": "alice-password-1", "bob": "bob-password-22", "carol": "carol-password-333",
         "root": "root-password-4444"}
HASHES = {name: hash_password(password) for name, password in USERS.items()}


@pytest.fixture
def vertebro_overrides(tmp_path):
    return {
        "vertebro_basic_users": HASHES,
        "vertebro_admin_users": ["root"],
        "voice_file_storage_dir": str(tmp_path / "files"),
        "voice_training_step_delay": 0.05,
        "voice_training_epochs": 2,
    }


def _grant(app, project: str, user: str) -> None:
    anyio.run(app.bundles["vertebro-voice"].access.grant, project, user, utcnow())


def _auth(user: str) -> tuple[str, str]:
    return user, USERS[user]


def _basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()}


def _wav_files(app, n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"s{i}.wav", speech_wav(app, f"Sample number {i} for training."), "audio/wav"))
            for i in range(n)]


def _snapshot(http: httpx.Client, sid: str) -> dict:
    """Alice's view of everything she has (read as alice; reading does not move the fixed clock)."""
    a = _auth("alice")
    return {
        "session": http.get(f"{API}/session/{sid}", auth=a).json(),
        "history": http.get(f"{API}/session/{sid}/history", params={"limit": 200}, auth=a).json(),
        "samples": http.get(f"{API}/samples", params={"project": "alpha"}, auth=a).json(),
        "jobs": [(j["id"]) for j in http.get(f"{API}/jobs", params={"project": "alpha", "limit": 25},
                                             auth=a).json()["jobs"]],
        "analytics": http.get(f"{API}/analytics/project/alpha", auth=a).json(),
        "bob_samples": http.get(f"{API}/samples", params={"project": "beta"}, auth=_auth("bob")).json(),
    }


def test_another_users_ids_answer_404_like_missing_ones_and_change_nothing(app, clock):
    _grant(app, "alpha", "alice")
    _grant(app, "beta", "bob")
    _grant(app, "alpha", "carol")  # alice's colleague: sees the project, not alice's session
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        alice, bob = _auth("alice"), _auth("bob")
        r = http.post(f"{API}/session/start", json={"project": "alpha", "language": "en-US"}, auth=alice)
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        assert http.post(f"{API}/recognize", json={"text_hint": "hello", "session_id": sid},
                         auth=alice).status_code == 200
        project_audio = http.post(f"{API}/synthesize", json={"text": "Project audio", "session_id": sid},
                                  auth=alice).json()["audio_url"]
        own_audio = http.post(f"{API}/synthesize", json={"text": "Alice alone"}, auth=alice).json()["audio_url"]
        samples = http.post(f"{API}/samples", data={"project": "alpha"}, files=_wav_files(app, 3), auth=alice)
        assert samples.status_code == 200, samples.text
        sample_id = samples.json()["samples"][0]["id"]
        assert http.post(f"{API}/train", data={"project": "alpha"}, auth=alice).status_code == 200
        clock.advance(seconds=90)  # any touch of alice's session by bob would now move its expires_at
        before = _snapshot(http, sid)

        missing_sid, missing_audio = uuid.uuid4().hex, f"{API}/audio/{uuid.uuid4().hex}"
        own_sample, no_sample = f"{API}/samples/{sample_id}", f"{API}/samples/{uuid.uuid4().hex[:24]}"
        missing_project = f"nope-{uuid.uuid4().hex[:8]}"
        # (method, path of alice's thing, path of a missing thing, kwargs of alice's, kwargs of missing)
        attempts = [
            ("GET", f"{API}/session/{sid}", f"{API}/session/{missing_sid}", {}, {}),
            ("GET", f"{API}/session/{sid}/history", f"{API}/session/{missing_sid}/history", {}, {}),
            ("POST", f"{API}/dialog/respond", None, {"json": {"session_id": sid, "project": "beta", "text": "hi"}},
             {"json": {"session_id": missing_sid, "project": "beta", "text": "hi"}}),
            ("POST", f"{API}/recognize", None, {"json": {"session_id": sid, "text_hint": "x"}},
             {"json": {"session_id": missing_sid, "text_hint": "x"}}),
            ("POST", f"{API}/synthesize", None, {"json": {"session_id": sid, "text": "x"}},
             {"json": {"session_id": missing_sid, "text": "x"}}),
            ("POST", f"{API}/dialog/intent", None, {"json": {"session_id": sid, "text": "pricing"}},
             {"json": {"session_id": missing_sid, "text": "pricing"}}),
            ("POST", f"{API}/dialog/intent", None, {"json": {"project": "alpha", "text": "pricing"}},
             {"json": {"project": missing_project, "text": "pricing"}}),
            ("GET", project_audio, missing_audio, {}, {}),
            ("GET", own_audio, missing_audio, {}, {}),
            ("GET", f"{API}/analytics/project/alpha", f"{API}/analytics/project/{missing_project}", {}, {}),
            ("POST", f"{API}/session/start", None, {"json": {"project": "alpha"}},
             {"json": {"project": missing_project}}),
            ("GET", f"{API}/samples", None, {"params": {"project": "alpha"}}, {"params": {"project": missing_project}}),
            ("POST", f"{API}/samples", None, {"data": {"project": "alpha"}, "files": _wav_files(app, 1)},
             {"data": {"project": missing_project}, "files": _wav_files(app, 1)}),
            ("DELETE", own_sample, no_sample, {"params": {"project": "alpha"}},
             {"params": {"project": missing_project}}),
            ("DELETE", own_sample, no_sample, {"params": {"project": "beta"}},
             {"params": {"project": "beta"}}),
            ("GET", f"{API}/jobs", None, {"params": {"project": "alpha", "limit": 5}},
             {"params": {"project": missing_project, "limit": 5}}),
            ("GET", f"{API}/status", None, {"params": {"project": "alpha"}}, {"params": {"project": missing_project}}),
            ("POST", f"{API}/train", None, {"data": {"project": "alpha"}}, {"data": {"project": missing_project}}),
            ("DELETE", f"{API}/session/{sid}", f"{API}/session/{missing_sid}", {}, {}),
        ]
        leaks = []
        for method, path, missing_path, kwargs, missing_kwargs in attempts:
            theirs = http.request(method, path, auth=bob, **kwargs)
            missing = http.request(method, missing_path or path, auth=bob, **missing_kwargs)
            same = (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
            if theirs.status_code != 404 or not same:
                leaks.append((method, path, kwargs, theirs.status_code, theirs.text, missing.text))
        assert leaks == [], leaks
        assert len(attempts) == 19

        async def socket(user: str) -> int:
            url = server.url.replace("http", "ws") + f"{API}/ws/{sid}"
            with pytest.raises(InvalidStatus) as denied:
                async with websockets.connect(url, additional_headers=_basic(user)):
                    pass
            return denied.value.response.status_code

        assert asyncio.run(socket("bob")) == 404
        assert asyncio.run(socket("carol")) == 404  # a colleague in the project: the session is still alice's
        assert _snapshot(http, sid) == before  # nothing bob tried changed alice's data (nor created bob's)

        carol = _auth("carol")  # project data is shared with members; alice's session and own audio are not
        assert http.get(project_audio, auth=carol).status_code == 200
        assert http.get(own_audio, auth=carol).status_code == 404
        assert http.get(f"{API}/session/{sid}", auth=carol).status_code == 404
        assert http.get(f"{API}/samples", params={"project": "alpha"}, auth=carol).json() == before["samples"]
        assert http.get(f"{API}/analytics/project/alpha", auth=carol).json() == before["analytics"]

        root = _auth("root")  # an admin sees everything
        assert http.get(f"{API}/session/{sid}", auth=root).status_code == 200
        assert http.get(own_audio, auth=root).status_code == 200
        assert http.get(f"{API}/samples", params={"project": "alpha"}, auth=root).json() == before["samples"]

        # the same synthesis by bob is bob's own entry: `cached` reveals nothing of alice's requests
        r = http.post(f"{API}/synthesize", json={"text": "Alice alone"}, auth=bob)
        assert r.status_code == 202 and r.json()["cached"] is False and r.json()["audio_url"] != own_audio

        # revoking alice's membership hides her session and the project from her (and keeps it stored)
        anyio.run(app.bundles["vertebro-voice"].access.revoke, "alpha", "alice")
        assert http.get(f"{API}/session/{sid}", auth=alice).json() == {"detail": "voice_session_not_found"}
        assert http.get(f"{API}/jobs", params={"project": "alpha"}, auth=alice).json() == {
            "detail": "project_not_found"}
        assert http.get(f"{API}/session/{sid}", auth=root).status_code == 200


def test_revoked_membership_closes_an_open_socket(app):
    _grant(app, "alpha", "alice")
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        body = http.post(f"{API}/session/start", json={"project": "alpha", "language": "en-US"},
                         auth=_auth("alice")).json()

        async def talk() -> int | None:
            async with websockets.connect(body["websocket_url"], additional_headers=_basic("alice")) as ws:
                assert (await ws.recv()) and True
                await ws.send('{"type": "ping"}')
                assert '"pong"' in await ws.recv()
                await anyio.to_thread.run_sync(
                    lambda: anyio.run(app.bundles["vertebro-voice"].access.revoke, "alpha", "alice"))
                await ws.send('{"type": "ping"}')
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
                return closed.value.rcvd.code if closed.value.rcvd else None

        assert asyncio.run(talk()) == 1008


def test_manage_grant_revoke_and_members(app, capsys, settings, monkeypatch):
    from handlers.vertebro_voice import manage

    monkeypatch.setattr("handlers.cli.get_settings", lambda: settings)  # the same database as `app`
    assert manage.main(["grant", "dora", "gamma"]) == 0
    assert manage.main(["grant", "dora", "gamma"]) == 0
    assert manage.main(["members", "gamma"]) == 0
    assert manage.main(["revoke", "dora", "gamma"]) == 0
    assert manage.main(["grant-admin", "dora"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["project gamma: dora is now a member", "project gamma: dora was already a member", "dora",
                   "project gamma: dora is no longer a member", "user dora: is now an admin"]
    scope = anyio.run(app.bundles["vertebro-voice"].access.scope, "dora")
    assert scope.admin and scope.projects == frozenset()
