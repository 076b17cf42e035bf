"""getHealth reports real checks, at /health and /v1/health, without auth."""


def test_health_at_root_and_v1(client):
    for path in ("/health", "/v1/health"):
        r = client.get(path)
        assert r.status_code == 200
        body = r.json()
        assert body["services"]["database"] == "connected"
        assert body["services"]["redis"] == "not_configured"
        assert set(body["services"]) >= {"asr", "tts", "llm"}
        assert body["status"] in {"healthy", "degraded"}


def test_health_reports_database_down(client, app):
    from sqlalchemy import create_engine

    app.services.db.engine = create_engine("sqlite:////nonexistent/dir/x.db")
    body = client.get("/health").json()
    assert body["services"]["database"] == "disconnected"
    assert body["status"] == "unhealthy"


def test_health_reports_engines_loading_then_ready_without_waiting(make_settings):
    """With the warm-up on, /health answers while an engine is still loading (``loading``, the
    server ``healthy``), then ``ready``; an engine that failed to load is ``unavailable`` and the
    server ``degraded``. The loaders here stand in for Whisper & co., held by the test."""
    import threading

    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(engine_preload=True))
    release = threading.Event()
    engines = app.services.engines
    for name in engines.names:
        engine = engines.engine(name)
        engine.load = (lambda: release.wait(30)) if name != "embeddings" else (lambda: 1 / 0)
    with TestClient(app) as client:
        body = client.get("/health").json()
        assert body["status"] == "healthy"
        assert {n: body["services"][n]["status"] for n in ("asr", "tts", "webrtc", "embeddings")} == {
            "asr": "loading", "tts": "loading", "webrtc": "loading", "embeddings": "loading"}
        release.set()
        assert engines.wait(30)
        body = client.get("/v1/health").json()
        assert {n: body["services"][n]["status"] for n in ("asr", "tts", "webrtc", "embeddings")} == {
            "asr": "ready", "tts": "ready", "webrtc": "ready", "embeddings": "unavailable"}
        assert body["status"] == "degraded"


def test_health_without_warmup_reports_installed_engines_available(client):
    body = client.get("/health").json()
    assert {n: body["services"][n]["status"] for n in ("asr", "tts", "webrtc", "embeddings")} == dict.fromkeys(
        ("asr", "tts", "webrtc", "embeddings"), "available")
