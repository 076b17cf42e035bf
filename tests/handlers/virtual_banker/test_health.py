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
