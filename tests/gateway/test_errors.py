"""Each API's own error envelope on every status the gateway produces, and no 500 for bad input."""

import pytest

VB = "/v1/sessions"


def vb_error(body):
    assert body["success"] is False and set(body["error"]) == {"code", "message", "details"} and body["timestamp"]
    return body["error"]["code"]


def test_vb_envelope_on_validation_auth_media_and_size(client, vb_auth, make_settings):
    auth = vb_auth()
    r = client.post(VB, json={"tenant_id": "t"}, headers=auth)
    assert r.status_code == 400 and vb_error(r.json()) == "VALIDATION_ERROR"
    r = client.post(VB, content=b"tenant_id=t", headers={**auth, "Content-Type": "text/plain"})
    assert r.status_code == 415 and vb_error(r.json()) == "UNSUPPORTED_MEDIA_TYPE"
    r = client.get(VB)
    assert r.status_code == 401 and vb_error(r.json()) == "UNAUTHORIZED"
    r = client.patch(VB, headers=auth)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST" and vb_error(r.json()) == "METHOD_NOT_ALLOWED"


def test_oversized_body_is_413(make_settings, vb_auth):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    with TestClient(create_app(make_settings(max_body_bytes=64))) as c:
        r = c.post(VB, json={"tenant_id": "t" * 100, "user_id": "u", "auth_assertion": "x"}, headers=vb_auth())
        assert r.status_code == 413 and vb_error(r.json()) == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\xfd", b'{"tenant_id": "\xc3\x28"}', b"{", b'{"a": NaN', b"null", b'"text"', b"[1,2]", b"1e999999"],
)
def test_malformed_json_never_500(client, vb_auth, body):
    r = client.post(VB, content=body, headers={**vb_auth(), "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    vb_error(r.json())


def test_virstack_envelope(client):
    r = client.get("/v1/agent/list")
    assert r.status_code == 401
    assert r.json() == {"success": False, "code": 401, "error": "No authorization token provided", "data": None}
    r = client.get("/v1/agent/list", headers={"Authorization": "Bearer vk-0123"})  # not a live API key
    assert r.status_code == 401 and r.json()["code"] == 401 and r.json()["data"] is None


def test_serviceai_envelope(client):
    r = client.get("/api/chatty-voice/tools")
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    assert set(r.json()) == {"error"}


def test_vertebro_envelope(make_settings):
    from starlette.testclient import TestClient

    from gateway.app import create_app
    from handlers.vertebro_voice.security import hash_password

    settings = make_settings(vertebro_basic_users={"u": hash_password("p")})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/api/v1/voice/samples")
        assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        assert client.get("/api/v1/voice/samples", auth=("u", "wrong")).status_code == 401
        r = client.post("/api/v1/voice/recognize", json={"audio_base64": 5}, auth=("u", "p"))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, list) and {"loc", "msg", "type"} <= set(detail[0])


def test_unknown_path_no_api_owns_is_a_problem(client):
    """``/v1`` is shared by Virtual Banker and Virstack: no envelope is right, so RFC 9457."""
    for path in ("/v1/definitely-not-here", "/nowhere", "/api/nowhere"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), path
        assert r.json()["status"] == 404 and r.json()["title"] == "Not Found"


@pytest.mark.parametrize("path, envelope", [
    ("/v1/agent/x/y/z", lambda b: b["success"] is False and b["code"] == 404 and b["data"] is None),
    ("/v1/sessions/x/y/z", lambda b: b["error"]["code"] == "NOT_FOUND" and "timestamp" in b),
    ("/api/v1/voice/nope", lambda b: b == {"detail": "Not Found"}),
    ("/api/chatty-voice/nope", lambda b: b["error"]["code"] == "NOT_FOUND"),
])
def test_unknown_path_under_one_api_gets_its_envelope(client, path, envelope):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), r.text
    assert envelope(r.json()), r.text


def test_documents_served(client):
    merged = client.get("/openapi.json").json()
    assert merged["openapi"] == "3.0.3" and "/v1/sessions" in merged["paths"]
    assert "x-bearerInfoFunc" not in str(merged)
    assert client.get("/openapi.yaml").text.startswith("openapi: 3.0.3")
    for name, version in [("virtual-banker", "3.0.3"), ("virstack-voiceai", "3.0.0"), ("serviceai", "3.1.0"),
                          ("vertebro-voice", "3.0.3")]:
        doc = client.get(f"/openapi/{name}.json").json()
        assert doc["openapi"] == version
        assert client.get(f"/openapi/{name}.yaml").status_code == 200
    assert client.get("/openapi/nope.json").status_code == 404
    assert client.get("/docs/").status_code == 200
