"""Swagger UI offers the five documents; each per-API document's servers point at this deployment."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.contract import Contract


def test_swagger_ui_lists_the_merged_document_and_each_apis_own(client):
    page = client.get("/docs/")
    assert page.status_code == 200 and "swagger-ui" in page.text and "swagger-ui-config.json" in page.text
    config = client.get("/docs/swagger-ui-config.json").json()
    contract = Contract()
    assert config["urls"] == [{"url": "/openapi.json", "name": "All APIs (merged)"}] + [
        {"url": f"/openapi/{api.name}.json", "name": api.title} for api in contract.apis.values()]
    assert config["urls.primaryName"] == "All APIs (merged)"
    for entry in config["urls"]:
        document = client.get(entry["url"])
        assert document.status_code == 200 and document.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("api", [api.name for api in Contract().apis.values()])
def test_try_it_out_servers_resolve_to_this_deployment(live_server, api):
    """The document's first server, resolved against the document's own URL (as Swagger UI and
    generators do), reaches this server: its mount plus a documented GET answers here."""
    doc_url = f"{live_server.url}/openapi/{api}.json"
    document = httpx.get(doc_url).json()
    mount = Contract().apis[next(ns for ns, a in Contract().apis.items() if a.name == api)].mount
    base = httpx.URL(doc_url).join(document["servers"][0]["url"])
    assert str(base).rstrip("/") == (live_server.url + mount).rstrip("/")
    get_paths = [p for p, item in document["paths"].items() if "get" in item and "{" not in p]
    response = httpx.get(str(base).rstrip("/") + get_paths[0])
    assert response.status_code in (200, 401), (get_paths[0], response.status_code)
    assert json.loads(response.text) is not None
