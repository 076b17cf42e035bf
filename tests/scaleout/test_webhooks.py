"""Webhook deliveries across processes: every event is delivered by one process at a time,
retried by exactly one, and a delivery whose sending process dies is sent by another."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from handlers.virtual_banker.security import mint_jwt
from tests.conftest import fresh_database
from tests.scaleout.conftest import SECRETS, ServerProcess

HOOK_ENV = {"WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]', "WEBHOOK_BASE_DELAY": "0.5",
            "WEBHOOK_TIMEOUT_SECONDS": "2", "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "1000"}


class Receiver:
    """Loopback webhook endpoint: answers 500 to the first ``fail`` attempts of each delivery id
    (optionally stalling ``stall`` seconds on the very first one), 200 afterwards."""

    def __init__(self, fail: int = 1, stall: float = 0.0) -> None:
        self.attempts: dict[str, int] = defaultdict(int)
        self.accepted: Counter[str] = Counter()
        self.stalled = threading.Event()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["X-VB-Delivery"]
                with lock:
                    receiver.attempts[delivery] += 1
                    attempt = receiver.attempts[delivery]
                    first_ever = stall and not receiver.stalled.is_set()
                    if first_ever:
                        receiver.stalled.set()
                if first_ever:
                    time.sleep(stall)
                if attempt <= fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                with lock:
                    receiver.accepted[delivery] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _token(tenant: str) -> str:
    return mint_jwt(tenant, "user-hook", SECRETS["VIRTUAL_BANKER_JWT_SECRET"], 600)


def _register(base: str, token: str, url: str) -> None:
    r = httpx.post(f"{base}/v1/voice/webhooks", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                   json={"url": url, "events": ["session.created", "session.ended"], "secret": "s" * 32})
    assert r.status_code == 201, r.text


def _raise_event(create_on: str, end_on: str, tenant: str, token: str) -> None:
    """One ``session.ended`` event: a session created on one process and ended on another."""
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{create_on}/v1/sessions", headers=auth, timeout=30,
                   json={"tenant_id": tenant, "user_id": "user-hook", "auth_assertion": token})
    assert r.status_code == 201, r.text
    ended = httpx.delete(f"{end_on}/v1/sessions/{r.json()['data']['session_id']}", headers=auth, timeout=30)
    assert ended.status_code == 200, ended.text


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_each_event_is_delivered_once_and_retried_by_one_process(postgres_admin: str, redis_server: str,
                                                                 tmp_path: Path) -> None:
    """Two processes; 12 events (session.ended) raised on both; each delivery fails once (500) and is retried:
    every delivery id reaches the receiver exactly twice and is accepted exactly once."""
    receiver = Receiver(fail=1)
    env = {"DATABASE_URL": fresh_database(postgres_admin), "REDIS_URL": redis_server, **HOOK_ENV}
    servers = [ServerProcess(env, tmp_path).start() for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        token = _token("tenant-hooks")
        _register(servers[0].url, token, receiver.url)
        for i in range(12):
            _raise_event(servers[i % 2].url, servers[(i + 1) % 2].url, "tenant-hooks", token)
        _wait(lambda: len(receiver.accepted) == 12, 60)
        time.sleep(2)  # room for any duplicate to show up
        assert set(receiver.attempts.values()) == {2}, receiver.attempts
        assert set(receiver.accepted.values()) == {1}, receiver.accepted
    finally:
        receiver.close()
        for server in servers:
            server.stop()


def test_a_delivery_whose_sender_dies_is_sent_by_the_other_process(postgres_admin: str, redis_server: str,
                                                                   tmp_path: Path) -> None:
    """The receiver stalls the first attempt; the process sending it is killed (SIGKILL) while it
    waits; once its claim lapses (3 × WEBHOOK_TIMEOUT_SECONDS) the other process's sweep sends it.
    (The stalled attempt is answered 500 when the stall ends, so only the resend can be accepted.)"""
    receiver = Receiver(fail=1, stall=8.0)
    url = fresh_database(postgres_admin)
    env = {"DATABASE_URL": url, "REDIS_URL": redis_server, **HOOK_ENV}
    servers = [ServerProcess(env, tmp_path).start() for _ in range(2)]
    engine = create_engine(url)
    try:
        for server in servers:
            server.wait_ready()
        token = _token("tenant-death")
        _register(servers[0].url, token, receiver.url)
        _raise_event(servers[1].url, servers[1].url, "tenant-death", token)
        _wait(receiver.stalled.is_set, 30)
        with engine.connect() as conn:
            holder = conn.execute(text("SELECT claimed_by FROM vb_webhook_delivery WHERE status = 'pending'")).scalar()
        assert holder is not None
        sender = next(s for s in servers if s.proc is not None and f":{s.proc.pid}:" in holder)
        sender.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        _wait(lambda: sum(receiver.accepted.values()) == 1, 40)
        print(f"\ndelivery resent {time.monotonic() - killed_at:.1f} s after its sender was killed")

        def recorded() -> bool:
            with engine.connect() as conn:
                row = conn.execute(text("SELECT status, claimed_by FROM vb_webhook_delivery")).one()
            return bool(row.status == "delivered" and row.claimed_by is None)

        _wait(recorded, 10)
        assert list(receiver.attempts.values()) == [2] and list(receiver.accepted.values()) == [1]
    finally:
        receiver.close()
        engine.dispose()
        for server in servers:
            server.stop()
