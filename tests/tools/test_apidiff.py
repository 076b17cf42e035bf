"""The breaking-change gate (tools/apidiff.py) on deliberately broken documents.

Each case breaks a small valid baseline in one way the issue lists and must be caught; additive
changes must not be; an overlay action's ``x-breaking`` reason accepts exactly what it makes; and
the real per-API documents run through the gate (its findings are the ones still to be stated).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import apidiff

BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Pets", "version": "1.0.0"},
    "servers": [{"url": "https://api.example.com/v1"}],
    "security": [{"Bearer": []}],
    "paths": {
        "/pets": {
            "post": {
                "operationId": "createPet",
                "parameters": [{"name": "X-Trace", "in": "header", "required": False, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewPet"}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Pet"}}}}},
            },
        },
        "/pets/{id}": {
            "get": {
                "operationId": "getPet",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "a pet", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
                    "application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}}}}},
            },
        },
    },
    "components": {
        "securitySchemes": {"Bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "NewPet": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 100},
                "kind": {"type": "string", "enum": ["cat", "dog", "bird"]},
                "age": {"type": "integer", "minimum": 0},
                "phone": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10}}},
            "Pet": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "created_at": {"type": "string"}}},
        },
    },
}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
    return change


SCHEMAS = "components/schemas"
BREAKS = {
    "removed path": (_delete("paths//pets/{id}".replace("//", "/", 1)), "GET /pets/{id} removed"),
    "removed operation": (lambda d: d["paths"]["/pets"].pop("post"), "POST /pets removed"),
    "renamed operationId": (lambda d: d["paths"]["/pets/{id}"]["get"].update(operationId="fetchPet"),
                            "operationId 'getPet' → 'fetchPet'"),
    "renamed path": (lambda d: d["paths"].update({"/animals/{id}": d["paths"].pop("/pets/{id}")}),
                     "GET /pets/{id} removed"),
    "removed response field": (_delete(f"{SCHEMAS}/Pet/properties/created_at"), "response property 'created_at'"),
    "removed response media type": (_delete("paths"), None),  # replaced below (path keys contain '/')
    "removed response status": (lambda d: d["paths"]["/pets"]["post"]["responses"].update(
        {"200": d["paths"]["/pets"]["post"]["responses"].pop("201")}), "response 201 removed"),
    "new required request field": (_set(f"{SCHEMAS}/NewPet/required", ["name", "age"]),
                                   "property 'age' is now required"),
    "new required parameter": (lambda d: d["paths"]["/pets"]["post"]["parameters"][0].update(required=True),
                               "parameter x-trace (header) is now required"),
    "narrowed type": (_set(f"{SCHEMAS}/NewPet/properties/age/type", "string"), "type ['integer'] → ['string']"),
    "new format": (_set(f"{SCHEMAS}/NewPet/properties/name/format", "email"), "format None → 'email'"),
    "new pattern": (_set(f"{SCHEMAS}/NewPet/properties/phone/pattern", r"^\+[1-9][0-9]{1,14}$"), "pattern None"),
    "fewer enum values": (_set(f"{SCHEMAS}/NewPet/properties/kind/enum", ["cat", "dog"]), "enum values ['bird']"),
    "shorter maxLength": (_set(f"{SCHEMAS}/NewPet/properties/name/maxLength", 50), "maxLength 100 → 50"),
    "new minLength": (_set(f"{SCHEMAS}/NewPet/properties/name/minLength", 3), "minLength None → 3"),
    "higher minimum": (_set(f"{SCHEMAS}/NewPet/properties/age/minimum", 1), "minimum 0 → 1"),
    "fewer items": (_set(f"{SCHEMAS}/NewPet/properties/tags/maxItems", 5), "maxItems 10 → 5"),
    "closed object": (_set(f"{SCHEMAS}/NewPet/additionalProperties", False), "additionalProperties: false"),
    "removed request media type": (lambda d: d["paths"]["/pets"]["post"]["requestBody"]["content"].update(
        {"application/x-www-form-urlencoded": d["paths"]["/pets"]["post"]["requestBody"]["content"].pop(
            "application/json")}), "request media type application/json removed"),
    "changed security": (lambda d: d["paths"]["/pets/{id}"]["get"].update(security=[{"Key": []}]) or
                         d["components"]["securitySchemes"].update(Key={"type": "apiKey", "in": "header",
                                                                        "name": "X-Key"}), "security"),
    "changed security scheme": (_set("components/securitySchemes/Bearer", {"type": "http", "scheme": "basic"}),
                                "security scheme Bearer: scheme 'bearer' → 'basic'"),
    "changed server URL": (_set("servers", [{"url": "https://api.example.com/v2"}]),
                           "server 'https://api.example.com/v1' removed"),
    "response type changed": (_set(f"{SCHEMAS}/Pet/properties/id/type", "integer"), "response type"),
}
BREAKS["removed response media type"] = (
    lambda d: d["paths"]["/pets/{id}"]["get"]["responses"]["200"]["content"].pop("application/xml"),
    "200 media type application/xml removed")
BREAKS["removed path"] = (lambda d: d["paths"].pop("/pets/{id}"), "GET /pets/{id} removed")

ADDITIVE = {
    "new optional request field": _set(f"{SCHEMAS}/NewPet/properties/color", {"type": "string"}),
    "new response field": _set(f"{SCHEMAS}/Pet/properties/owner", {"type": "string"}),
    "new operation": lambda d: d["paths"]["/pets/{id}"].update(delete={"operationId": "deletePet", "responses": {
        "204": {"description": "gone"}}}),
    "new response status": lambda d: d["paths"]["/pets"]["post"]["responses"].update(
        {"413": {"description": "too large"}}),
    "more enum values": _set(f"{SCHEMAS}/NewPet/properties/kind/enum", ["cat", "dog", "bird", "fish"]),
    "longer maxLength": _set(f"{SCHEMAS}/NewPet/properties/name/maxLength", 200),
    "integer widened to number": _set(f"{SCHEMAS}/NewPet/properties/age/type", "number"),
    "new server": lambda d: d["servers"].insert(0, {"url": "/v1"}),
    "schema moved to a named component": lambda d: d["paths"]["/pets"]["post"]["requestBody"]["content"][
        "application/json"].update(schema=copy.deepcopy(d["components"]["schemas"]["NewPet"])),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_listed_break_is_caught(name):
    change, expected = BREAKS[name]
    head = copy.deepcopy(BASE)
    change(head)
    findings = [str(f) for f in apidiff.compare(BASE, head)]
    assert any(expected in f for f in findings), f"{name}: {findings}"


@pytest.mark.parametrize("name", sorted(ADDITIVE))
def test_additive_changes_pass(name):
    head = copy.deepcopy(BASE)
    ADDITIVE[name](head)
    assert apidiff.compare(BASE, head) == []


def test_unchanged_document_passes():
    assert apidiff.compare(BASE, copy.deepcopy(BASE)) == []


def _specs(tmp_path: Path, actions: list[dict[str, Any]], base: dict[str, Any] | None = None) -> tuple[
        dict[str, Any], Path, Path]:
    base = BASE if base is None else base
    specs, generated = tmp_path / "specs", tmp_path / "generated"
    (specs / "pets").mkdir(parents=True)
    generated.mkdir()
    (specs / "pets" / "openapi.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    (specs / "pets" / "overlay.yaml").write_text(yaml.safe_dump(
        {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": actions}), encoding="utf-8")
    from tools.overlay import apply_overlay
    head = apply_overlay(copy.deepcopy(base), {"overlay": "1.0.0", "actions": actions})
    (generated / "pets.openapi.yaml").write_text(yaml.safe_dump(head), encoding="utf-8")
    api = {"name": "pets", "source": "pets/openapi.yaml", "overlays": ["pets/overlay.yaml"]}
    return api, specs, generated


PATTERN = {"target": "$.components.schemas.NewPet.properties.phone",
           "description": "E.164 numbers only", "update": {"pattern": r"^\+[1-9][0-9]{1,14}$"}}


def test_a_break_without_a_reason_fails_the_gate(tmp_path):
    api, specs, generated = _specs(tmp_path, [PATTERN])
    result = apidiff.gate(api, specs, generated)
    assert [f.pointer for f in result.refused] == ["/components/schemas/NewPet/properties/phone/pattern"]
    assert not result.accepted
    assert [a.name for a in result.makers[result.refused[0]]] == ["pets/overlay.yaml#0"]


def test_x_breaking_on_the_action_accepts_what_it_makes_only(tmp_path):
    enum = {"target": "$.components.schemas.NewPet.properties.kind", "description": "no birds",
            "update": {"enum": ["cat", "dog"]}}
    api, specs, generated = _specs(tmp_path, [{**PATTERN, "x-breaking": "the server always refused others"}, enum])
    result = apidiff.gate(api, specs, generated)
    assert list(result.accepted.values()) == ["pets/overlay.yaml: the server always refused others"]
    assert [f.pointer for f in result.accepted] == ["/components/schemas/NewPet/properties/phone/pattern"]
    assert [f.pointer for f in result.refused] == ["/components/schemas/NewPet/properties/kind/enum"]


def test_a_removal_is_accepted_by_its_remove_action(tmp_path):
    remove = {"target": "$.components.schemas.Pet.properties.created_at", "description": "never sent",
              "remove": True, "x-breaking": "the server never sent it"}
    api, specs, generated = _specs(tmp_path, [remove])
    result = apidiff.gate(api, specs, generated)
    assert result.findings and not result.refused


def test_a_broad_target_acknowledges_only_what_its_update_writes(tmp_path):
    """An ``x-breaking`` on an action targeting ``$.components.schemas`` (adding a schema) does not
    cover a narrowing another action makes inside an existing schema."""
    broad = {"target": "$.components.schemas", "description": "a new schema", "x-breaking": "nothing it writes breaks",
             "update": {"Owner": {"type": "object", "properties": {"name": {"type": "string"}}}}}
    api, specs, generated = _specs(tmp_path, [broad, PATTERN])
    result = apidiff.gate(api, specs, generated)
    assert not result.accepted
    assert [f.pointer for f in result.refused] == ["/components/schemas/NewPet/properties/phone/pattern"]
    assert [a.name for a in result.makers[result.refused[0]]] == ["pets/overlay.yaml#1"]


def test_a_new_global_security_requirement_is_found_at_security_and_acknowledged_by_its_action(tmp_path):
    """Operations inheriting the global requirement: the change is at ``/security``, where the
    action that made it wrote; its reason covers every operation that inherits it."""
    keyed = {"target": "$", "description": "API keys instead of bearer tokens",
             "update": {"security": [{"Key": []}],
                        "components": {"securitySchemes": {"Key": {"type": "apiKey", "in": "header", "name": "K"}}}}}
    api, specs, generated = _specs(tmp_path, [keyed])
    refused = apidiff.gate(api, specs, generated).refused
    assert sorted(f.message.split(":")[0] for f in refused) == ["GET /pets/{id}", "POST /pets"]
    assert {f.pointer for f in refused} == {"/security"}
    api, specs, generated = _specs(tmp_path / "acked", [{**keyed, "x-breaking": "every client already has a key"}])
    result = apidiff.gate(api, specs, generated)
    assert not result.refused and len(result.accepted) == 2


def test_a_required_request_body_is_acknowledged_by_the_action_that_sets_required(tmp_path):
    optional = copy.deepcopy(BASE)
    optional["paths"]["/pets"]["post"]["requestBody"]["required"] = False
    example = {"target": "$.paths['/pets'].post.requestBody.content['application/json']", "description": "example",
               "x-breaking": "not the action that made it", "update": {"example": {"name": "Rex"}}}
    required = {"target": "$.paths['/pets'].post.requestBody", "description": "the body is the input",
                "update": {"required": True}}
    api, specs, generated = _specs(tmp_path, [example, required], base=optional)
    result = apidiff.gate(api, specs, generated)
    assert [f.pointer for f in result.refused] == ["/paths/~1pets/post/requestBody/required"]
    assert [a.name for a in result.makers[result.refused[0]]] == ["pets/overlay.yaml#1"]


def test_the_cli_fails_on_a_refused_finding_and_names_the_action(tmp_path, monkeypatch, capsys):
    api, specs, generated = _specs(tmp_path, [PATTERN])
    (specs / "merge.yaml").write_text(yaml.safe_dump({"apis": [api]}), encoding="utf-8")
    monkeypatch.setattr(apidiff, "SPECS", specs)
    monkeypatch.setattr(apidiff, "GENERATED", generated)
    assert apidiff.main([]) == 1
    out = capsys.readouterr().out
    assert "0 with a stated reason, 1 refused" in out and "made by pets/overlay.yaml#0" in out
    acknowledged = {"overlay": "1.0.0", "info": {"title": "t", "version": "1"},
                    "actions": [{**PATTERN, "x-breaking": "E.164 only"}]}
    (specs / "pets" / "overlay.yaml").write_text(yaml.safe_dump(acknowledged), encoding="utf-8")
    assert apidiff.main([]) == 0
    assert "accepted /components/schemas/NewPet/properties/phone/pattern" in capsys.readouterr().out


@pytest.mark.parametrize("api", [a["name"] for a in yaml.safe_load(
    (apidiff.SPECS / "merge.yaml").read_text(encoding="utf-8"))["apis"]])
def test_the_served_documents_pass_the_gate(api):
    """Every breaking change of a served document against its baseline is made by an overlay action
    that states why (``make test`` also runs ``python -m tools.apidiff``)."""
    config = {a["name"]: a for a in yaml.safe_load((apidiff.SPECS / "merge.yaml").read_text(encoding="utf-8"))["apis"]}
    result = apidiff.gate(config[api])
    assert result.findings, "a baseline identical to the served document: is the baseline loaded?"
    assert not result.refused, "\n".join(f"{f} (made by {[a.name for a in result.makers[f]]})" for f in result.refused)
    assert all(result.makers[f] and any(a.reason for a in result.makers[f]) for f in result.findings)


@pytest.mark.skipif(not apidiff.OPTIC.exists() or shutil.which("node") is None, reason="Optic not installed")
def test_optic_runs_beside_the_gate(tmp_path):
    head = copy.deepcopy(BASE)
    head["paths"].pop("/pets/{id}")
    verdict = apidiff.optic(BASE, head, tmp_path)
    assert verdict is not None and "pets" in verdict
