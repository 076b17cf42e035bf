"""Adding an API touches specs, merge.yaml and the API's own folders — never gateway/.

A fifth API (``tests/gateway/echo_api``) is generated beside the four real ones into a
temporary ``generated/`` and served by the unchanged gateway; and gateway/ names no API.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.contract import Contract
from tools.generate import SPECS, build

ROOT = Path(__file__).resolve().parents[2]
ECHO = Path(__file__).resolve().parent / "echo_api"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("fifth-api")
    specs = tmp / "specs"
    shutil.copytree(SPECS, specs)
    (specs / "echo-notes").mkdir()
    shutil.copy(ECHO / "openapi.yaml", specs / "echo-notes" / "openapi.yaml")
    config = yaml.safe_load((specs / "merge.yaml").read_text())
    config["apis"].append({"name": "echo-notes", "title": "Echo Notes API", "source": "echo-notes/openapi.yaml",
                           "mount": "/echo", "namespace": "echo", "package": "tests.gateway.echo_api",
                           "error_schema": "EchoError", "validation_status": 422, "pending": []})
    (specs / "merge.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = tmp / "generated"
    build(out, log=lambda _msg: None, specs=specs)
    return out


@pytest.fixture(scope="module")
def echo(generated, tmp_path_factory):
    from core.settings import Settings

    db = tmp_path_factory.mktemp("fifth-db") / "gateway.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", validate_responses=True), Contract(generated))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_generated_with_models(generated):
    assert "class NoteInput" in (generated / "models" / "echo_notes.py").read_text()
    assert "/echo/notes/{note_id}" in Contract(generated).document["paths"]


def test_operations_security_envelope_and_validation(echo):
    alice, bob = {"X-Echo-Key": "key-alice"}, {"X-Echo-Key": "key-bob"}
    r = echo.post("/echo/notes", json={"text": "hello"}, headers=alice)
    assert r.status_code == 201 and r.json()["owner"] == "alice", r.text
    note_id = r.json()["note_id"]
    assert echo.get(f"/echo/notes/{note_id}", headers=alice).json()["text"] == "hello"
    r = echo.get(f"/echo/notes/{note_id}", headers=bob)
    assert r.status_code == 404 and r.json() == {"oops": f"note {note_id} not found", "status": 404}
    assert r.headers["X-Echo-Error"] == "404"
    r = echo.post("/echo/notes", json={"text": ""}, headers=alice)
    assert r.status_code == 422 and r.json()["status"] == 422  # its own validation status
    r = echo.get(f"/echo/notes/{note_id}")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = echo.get("/echo/unknown")
    assert r.status_code == 404 and r.json()["status"] == 404  # the path is under this API only


def test_the_four_apis_still_answer(echo):
    assert echo.get("/api/version").status_code == 200
    assert echo.get("/v1/agent/list").json()["code"] == 401


API_WORDS = re.compile(r"virtual.?banker|virstack|serviceai|vertebro|chatty|\bvb[._]|echo", re.IGNORECASE)


def test_gateway_names_no_api():
    for path in sorted((ROOT / "gateway").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not API_WORDS.search(line), f"{path.name}:{number} names an API: {line.strip()}"
