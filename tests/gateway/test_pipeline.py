"""The gateway's own operation pipeline over real HTTP: routing, parameters, media types and the
documents, each failure a 4xx in the API's envelope (never a 500, never connexion's problem)."""

from __future__ import annotations

import httpx
import pytest

from handlers.vertebro_voice.security import hash_password

BASIC = ("pipe", "pipe-password")


@pytest.fixture
def settings(make_settings):
    return make_settings(vertebro_basic_users={BASIC[0]: hash_password(BASIC[1])}, vertebro_admin_users=[BASIC[0]])


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, timeout=20) as c:
        yield c


def test_wrong_method_is_405_with_allow_in_the_api_envelope(http, vb_auth):
    r = http.put("/v1/sessions", headers=vb_auth(), json={})
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    assert r.json()["success"] is False and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_path_parameters_are_percent_decoded_once(http, vb_auth, vb_jwt):
    token = vb_jwt()
    created = http.post("/v1/sessions", headers=vb_auth(),
                        json={"tenant_id": "tenant-123", "user_id": "user-456", "auth_assertion": token})
    session_id = created.json()["data"]["session_id"]
    assert session_id.startswith("sess-")
    once = http.get("/v1/sessions/sess%2D" + session_id[5:], headers=vb_auth())
    assert once.status_code == 200 and once.json()["data"]["session_id"] == session_id
    twice = http.get("/v1/sessions/sess%252D" + session_id[5:], headers=vb_auth())  # names "sess%2D…", not the session
    assert twice.status_code == 404 and twice.json()["error"]["code"] == "SESSION_NOT_FOUND"
    slash = http.get("/v1/sessions/a%2Fb", headers=vb_auth())  # a decoded "/" is a path separator: no such route
    assert slash.status_code == 404 and slash.json()["success"] is False


@pytest.mark.parametrize("limit", ["abc", "0", "201", "1e3", "１", " 5", "1_0", "5.0", ""])
def test_bad_query_parameter_is_the_apis_validation_status(http, limit):
    started = http.post("/api/v1/voice/session/start", auth=BASIC, json={"project": "p", "language": "en-US"})
    assert started.status_code == 201, started.text
    r = http.get(f"/api/v1/voice/session/{started.json()['session_id']}/history", params={"limit": limit}, auth=BASIC)
    assert r.status_code == 422, r.text  # Vertebro's validation status
    assert isinstance(r.json()["detail"], list) and r.json()["detail"][0]["loc"][0] == "query"


def test_unsupported_media_type_is_415_in_the_envelope(http, vb_auth):
    r = http.post("/v1/sessions", headers={**vb_auth(), "Content-Type": "text/plain"}, content=b"hello")
    assert r.status_code == 415 and r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x"])
def test_malformed_multipart_is_400_not_500(http, content_type):
    r = http.post("/api/v1/voice/samples", auth=BASIC, headers={"Content-Type": content_type},
                  content=b"--y\r\nContent-Disposition: garbage\r\n\r\n")
    assert r.status_code in (400, 422), r.text
    assert "detail" in r.json()


def test_body_on_a_bodiless_operation_is_ignored(http, vb_auth):
    r = http.request("GET", "/v1/sessions", headers={**vb_auth(), "Content-Type": "application/json"}, content=b"{}")
    assert r.status_code == 200 and r.json()["success"] is True


def test_documents_and_swagger_ui_are_served_on_first_request(http):
    assert http.get("/docs/").status_code == 200
    assert http.get("/openapi.json").json()["openapi"].startswith("3.0")
    missing = http.get("/openapi/no-such-api.json")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("42", "integer", 42), ("-7", "integer", -7), ("-7" + "0" * 30, "integer", -7 * 10**30),
    (str(2**1024 - 1), "integer", 2**1024 - 1), (str(2**1024), "integer", ValueError),
    ("9" * 5000, "integer", ValueError), ("1.5", "number", 1.5), ("-.5e3", "number", -500.0),
    ("1e400", "number", ValueError), ("nan", "number", ValueError), ("Infinity", "number", ValueError),
    ("１", "integer", ValueError), ("1_0", "number", ValueError), (" 1", "integer", ValueError),
    ("TRUE", "boolean", True), ("false", "boolean", False), ("0", "boolean", ValueError),
    ("1", "boolean", ValueError), ("yes", "boolean", ValueError), ("x", "string", "x"),
])
def test_parameter_text_is_coerced_strictly(text, kind, expected):
    from gateway.parameters import coerce

    if expected is ValueError:
        with pytest.raises(ValueError):
            coerce(text, kind)
    else:
        assert coerce(text, kind) == expected
