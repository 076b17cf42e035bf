"""Failed-login throttling over HTTP against a live uvicorn server (issue 13 item 9: 20 wrong
passwords in a row were all answered): per account and per client IP, 429 with Retry-After,
checked before the password so a throttled guess is never verified."""

from __future__ import annotations

import httpx
import pytest

from gateway.__main__ import uvicorn_options
from gateway.app import create_app
from tests.conftest import LiveServer


@pytest.fixture
def server(make_settings):
    settings = make_settings(virstack_login_failures_per_account=5, virstack_login_failures_per_ip=8,
                             virstack_login_window_seconds=600)
    with LiveServer(create_app(settings), **uvicorn_options(settings)) as live:
        yield live


def _register(http: httpx.Client, email: str) -> None:
    r = http.post("/v1/users/register", json={"email": email, "password": "right-password-1",
                                              "organization_name": "Org", "first_name": "A", "last_name": "B"})
    assert r.status_code == 201, r.text


def test_wrong_passwords_are_throttled_per_account_then_per_ip(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        _register(http, "victim@example.com")
        _register(http, "other@example.com")
        statuses = [http.post("/v1/users/login", json={"email": "victim@example.com", "password": f"guess-{i}"})
                    for i in range(20)]
        codes = [r.status_code for r in statuses]
        print(f"\n20 wrong passwords for one account: {codes}")
        assert codes == [401] * 5 + [429] * 15
        refused = statuses[5]
        assert refused.json() == {"success": False, "code": 429, "error": refused.json()["error"], "data": None}
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        # Even the right password waits: the guess is not verified while throttled.
        r = http.post("/v1/users/login", json={"email": "victim@example.com", "password": "right-password-1"})
        assert r.status_code == 429
        # Another account from the same IP still logs in ...
        assert http.post("/v1/users/login", json={"email": "other@example.com",
                                                  "password": "right-password-1"}).status_code == 200
        # ... until the IP's own budget (8 failures) is spent, spoofed X-Forwarded-For or not.
        codes = [http.post("/v1/users/login", json={"email": f"nobody{i}@example.com", "password": "x" * 8},
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(5)]
        assert codes == [401, 401, 401, 429, 429], codes
        r = http.post("/v1/users/login", json={"email": "other@example.com", "password": "right-password-1"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
