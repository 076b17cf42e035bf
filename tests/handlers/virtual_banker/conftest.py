"""Virtual Banker fixtures: a live session with a voice session, and a webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Receiver:
    """A loopback HTTP endpoint that fails the first ``fail_first`` requests with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.attempts: list[dict] = []
        self.accepted: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                record = {"headers": dict(self.headers), "body": body}
                receiver.attempts.append(record)
                if len(receiver.attempts) <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.accepted.append(record)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.accepted]

    def wait(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; attempts={len(self.attempts)}"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
