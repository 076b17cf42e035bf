"""tools.generate: the whole pipeline, built once (module-scoped), checked end to end and against
the committed ``generated/`` (a build of another process, at another time)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

from tools import generate
from tools.generate import add_gateway_responses, build, dump_yaml, main, pending_ids, repair
from tools.merge import operations
from tools.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "specs" / "merge.yaml").read_text(encoding="utf-8"))
NAMESPACES = ("vb.", "virstack.", "serviceai.", "vertebro.")
TRANSCRIBE = "/paths/~1voice~1sessions~1{sessionId}~1transcribe/post/requestBody/content"
SYNTHESIZE = "/paths/~1voice~1sessions~1{sessionId}~1synthesize/post/responses/200/content"


class Built:
    def __init__(self, a: Path, b: Path, log_a: list[str]) -> None:
        self.a, self.b, self.log_a = a, b, log_a
        self.merged: dict[str, Any] = yaml.safe_load((a / "openapi.yaml").read_text(encoding="utf-8"))
        self.apis: dict[str, Any] = json.loads((a / "apis.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """The only full build of this module (it runs datamodel-codegen four times, ~25 s on 2
    cores); ``b`` is the committed ``generated/``, built by another process."""
    root = tmp_path_factory.mktemp("generate")
    log_a: list[str] = []
    build(root / "a", log=log_a.append)
    return Built(root / "a", ROOT / "generated", log_a)


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _ops(document):
    return [(path, method, op) for path, method, op in operations(document)]


def _op(document, operation_id):
    found = [(p, m, op) for p, m, op in operations(document) if op["operationId"] == operation_id]
    assert len(found) == 1, operation_id
    return found[0]


def _resolve(document, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# --------------------------------------------------------------------------- determinism and layout


def test_build_writes_expected_layout(built):
    names = set(_files(built.a))
    expected_apis = {f"apis/{api['name']}.openapi.yaml" for api in CONFIG["apis"]}
    expected_models = {f"models/{api['name'].replace('-', '_')}.py" for api in CONFIG["apis"]}
    assert expected_apis <= names
    assert expected_models <= names
    assert {"openapi.yaml", "apis.json", "README.md", "__init__.py", "models/__init__.py"} <= names
    base = {"openapi.yaml", "openapi.json", "apis.json", "README.md", "__init__.py", "models/__init__.py"}
    assert names == base | expected_apis | expected_models


def test_the_json_document_is_the_yaml_document(built):
    from gateway.contract import Contract, load_json_yaml

    as_json = json.loads((built.a / "openapi.json").read_text(encoding="utf-8"))
    assert as_json == load_json_yaml((built.a / "openapi.yaml").read_text(encoding="utf-8"))
    assert Contract(built.a).document == as_json  # what the server loads


def test_two_builds_are_byte_identical(built):
    # the committed tree was built by another process (another hash seed, another time): equal
    # bytes show the build deterministic (and the tree current; CI's --check says the same)
    files_a, files_b = _files(built.a), _files(built.b)
    assert files_a.keys() == files_b.keys()
    different = [name for name in files_a if files_a[name] != files_b[name]]
    assert different == [], "generated/ differs from a fresh build: run python -m tools.generate"


def test_models_are_pydantic_v2_modules(built):
    for api in CONFIG["apis"]:
        text = (built.a / "models" / f"{api['name'].replace('-', '_')}.py").read_text(encoding="utf-8")
        assert "from pydantic import" in text
        assert "BaseModel" in text
        compile(text, api["name"], "exec")


# --------------------------------------------------------------------------- repairs


def test_repair_log_mentions_both_pointers(built):
    log = "\n".join(built.log_a)
    assert f"virtual-banker{TRANSCRIBE}" in log
    assert f"virtual-banker{SYNTHESIZE}" in log
    assert len([line for line in built.log_a if line.startswith("repaired ")]) == 2
    transcribe_line = next(line for line in built.log_a if TRANSCRIBE in line)
    assert "multipart/form-data" in transcribe_line and "application/json" in transcribe_line
    synth_line = next(line for line in built.log_a if SYNTHESIZE in line)
    assert "audio/mpeg" in synth_line and "audio/wav" in synth_line


def test_transcribe_request_body_has_both_media_types(built):
    path, method, op = _op(built.merged, "vb.transcribeAudio")
    assert (path, method) == ("/v1/voice/sessions/{sessionId}/transcribe", "post")
    content = op["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(content)


def test_synthesize_200_has_json_and_audio(built):
    path, method, op = _op(built.merged, "vb.synthesizeSpeech")
    assert (path, method) == ("/v1/voice/sessions/{sessionId}/synthesize", "post")
    assert {"application/json", "audio/mpeg", "audio/wav"} <= set(op["responses"]["200"]["content"])


def test_repair_merges_media_type_maps_and_logs():
    text = (
        "paths:\n  /a:\n    post:\n      requestBody:\n"
        "        content:\n          application/json: {schema: {type: object}}\n"
        "        content:\n          text/plain: {schema: {type: string}}\n"
    )
    pointer = "/paths/~1a/post/requestBody/content"
    loaded = load_yaml(text, expected_duplicates={pointer})
    log: list[str] = []
    document = repair(loaded.document, loaded.duplicates, [{"pointer": pointer, "reason": "why"}], "api", log.append)
    assert document["paths"]["/a"]["post"]["requestBody"]["content"] == {
        "application/json": {"schema": {"type": "object"}},
        "text/plain": {"schema": {"type": "string"}},
    }
    assert log == [f"repaired api{pointer}: merged [application/json] + [text/plain] (why)"]


def test_repair_rejects_conflicting_media_type_and_missing_duplicate():
    text = (
        "r:\n  content:\n    application/json: {schema: {type: object}}\n"
        "  content:\n    application/json: {schema: {type: string}}\n"
    )
    loaded = load_yaml(text, expected_duplicates={"/r/content"})
    with pytest.raises(ValueError, match="defines application/json twice, differently"):
        repair(loaded.document, loaded.duplicates, [{"pointer": "/r/content", "reason": "x"}], "api", print)
    with pytest.raises(ValueError, match="listed but no repeated key found there"):
        repair({"r": {}}, [], [{"pointer": "/r/content", "reason": "x"}], "api", print)


def test_repair_of_duplicate_below_a_list():
    text = (
        "paths:\n  /a:\n    get:\n      parameters:\n        - name: q\n          in: query\n"
        "          content:\n            application/json: {schema: {type: string}}\n"
        "          content:\n            text/plain: {schema: {type: string}}\n"
    )
    pointer = "/paths/~1a/get/parameters/0/content"
    loaded = load_yaml(text, expected_duplicates={pointer})
    document = repair(loaded.document, loaded.duplicates, [{"pointer": pointer, "reason": "x"}], "api", print)
    assert set(document["paths"]["/a"]["get"]["parameters"][0]["content"]) == {"application/json", "text/plain"}


# --------------------------------------------------------------------------- gateway responses


def _tiny(op_extra=None):
    op = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    op.update(op_extra or {})
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"post": op},
                  "/b": {"get": {"operationId": "other", "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"Err": {"type": "object"}}},
    }


def test_add_gateway_responses_declares_431_503_413_415_and_501():
    document = _tiny({"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}})
    add_gateway_responses(document, {"name": "t", "error_schema": "Err", "pending": ["op"]})
    post = document["paths"]["/a"]["post"]
    err = {"application/json": {"schema": {"$ref": "#/components/schemas/Err"}}}
    assert post["responses"]["413"]["content"] == err
    assert post["responses"]["415"]["content"] == err
    assert post["responses"]["501"]["content"] == err
    assert post["responses"]["431"]["content"] == err
    assert post["x-gateway-pending"] is True
    get = document["paths"]["/b"]["get"]
    assert set(get["responses"]) == {"200", "431", "503"}  # head limit and storage outage: every request
    assert get["responses"]["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    assert "x-gateway-pending" not in get
    validate(document)


def test_add_gateway_responses_keeps_an_existing_413():
    document = _tiny({"requestBody": {"content": {"text/plain": {}}},
                      "responses": {"200": {"description": "ok"}, "413": {"description": "own"}}})
    add_gateway_responses(document, {"name": "t", "error_schema": "Err"})
    assert document["paths"]["/a"]["post"]["responses"]["413"] == {"description": "own"}
    assert "415" in document["paths"]["/a"]["post"]["responses"]


def test_add_gateway_responses_rejects_bad_config():
    with pytest.raises(ValueError, match="error_schema Nope is not a schema"):
        add_gateway_responses(_tiny(), {"name": "t", "error_schema": "Nope"})
    with pytest.raises(ValueError, match=r"pending lists unknown operationIds \['ghost'\]"):
        add_gateway_responses(_tiny(), {"name": "t", "error_schema": "Err", "pending": ["ghost"]})


def test_pending_all_means_every_operation():
    assert sorted(pending_ids({"pending": "all"}, _tiny())) == ["op", "other"]
    assert pending_ids({}, _tiny()) == []


def test_dump_yaml_writes_no_aliases_and_keeps_order():
    shared = {"k": 1}
    text = dump_yaml({"z": shared, "a": shared})
    assert "&" not in text and "*" not in text
    assert text.index("z:") < text.index("a:")
    assert yaml.safe_load(text) == {"z": {"k": 1}, "a": {"k": 1}}


# --------------------------------------------------------------------------- merged document


def test_merged_document_validates(built):
    assert built.merged["openapi"] == "3.0.3"
    validate(built.merged)
    OpenAPIV30SpecValidator(built.merged).validate()


def test_operation_ids_unique_and_namespaced(built):
    ids = [op["operationId"] for _, _, op in _ops(built.merged)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(NAMESPACES) for i in ids), [i for i in ids if not i.startswith(NAMESPACES)]
    # every API contributes operations
    for ns in NAMESPACES:
        assert any(i.startswith(ns) for i in ids), ns


def test_every_ref_resolves(built):
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            disc = node.get("discriminator")
            if isinstance(disc, dict):
                refs.extend(disc.get("mapping", {}).values())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(built.merged)
    assert len(refs) > 100
    unresolved = []
    for ref in set(refs):
        try:
            _resolve(built.merged, ref)
        except (KeyError, IndexError, ValueError, AssertionError):
            unresolved.append(ref)
    assert unresolved == []
    # every component ref points into a namespaced component
    bad = [r for r in refs if r.startswith("#/components/") and not r.split("/")[3].startswith(NAMESPACES)]
    assert bad == []


def test_pending_operations_carry_501_and_marker(built):
    count = 0
    for ns, api in built.apis.items():
        for local in api["pending"]:
            _, _, op = _op(built.merged, f"{ns}.{local}")
            assert op.get("x-gateway-pending") is True, local
            assert "501" in op["responses"], local
            assert op["responses"]["501"]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{ns}.{api['error_schema']}"
            }
            count += 1
    # and nothing else is marked pending
    pending = {f"{ns}.{local}" for ns, api in built.apis.items() for local in api["pending"]}
    marked = {op["operationId"] for _, _, op in _ops(built.merged) if op.get("x-gateway-pending")}
    assert marked == pending


def test_every_request_body_declares_413_and_415(built):
    with_body = [op for _, _, op in _ops(built.merged) if "requestBody" in op]
    assert with_body
    missing = [op["operationId"] for op in with_body if not {"413", "415"} <= set(op["responses"])]
    assert missing == []


def test_health_at_root_and_under_v1(built):
    paths = built.merged["paths"]
    assert paths["/health"]["get"]["operationId"] == "vb.getHealthAtRoot"
    assert paths["/v1/health"]["get"]["operationId"] == "vb.getHealth"
    assert built.apis["vb"]["aliases"] == {"getHealthAtRoot": "getHealth"}


def test_paths_literal_before_templated(built):
    order = list(built.merged["paths"])
    assert order.index("/v1/call/list") < order.index("/v1/call/{call_id}")


def test_top_level_security_not_in_merged_but_on_operations(built):
    assert "security" not in built.merged
    schemes = set(built.merged["components"]["securitySchemes"])
    assert all(s.startswith(NAMESPACES) for s in schemes)
    for _, _, op in _ops(built.merged):
        for requirement in op.get("security", []):
            assert set(requirement) <= schemes


# --------------------------------------------------------------------------- apis.json and per-API documents


def test_apis_json_matches_config(built):
    assert set(built.apis) == {api["namespace"] for api in CONFIG["apis"]}
    for api in CONFIG["apis"]:
        entry = built.apis[api["namespace"]]
        assert entry["name"] == api["name"]
        assert entry["mount"] == api["mount"]
        assert entry["package"] == api["package"]
        assert entry["error_schema"] == api["error_schema"]
        assert entry["validation_status"] == api["validation_status"]
        assert entry["document"] == f"apis/{api['name']}.openapi.yaml"
        assert entry["pending"] == sorted(entry["pending"])
        if isinstance(api["pending"], list):
            assert entry["pending"] == sorted(api["pending"])


def test_per_api_documents_keep_version_and_lead_with_mount(built):
    for api in CONFIG["apis"]:
        document = yaml.safe_load((built.a / "apis" / f"{api['name']}.openapi.yaml").read_text(encoding="utf-8"))
        source = yaml.safe_load((ROOT / "specs" / api["source"]).read_text(encoding="utf-8"))
        assert document["openapi"] == source["openapi"], api["name"]
        assert document["servers"][0] == {"url": api["mount"], "description": "This gateway"}
        assert [s["url"] for s in document["servers"]].count(api["mount"]) == 1
        validate(document)
        # per-API operationIds stay un-namespaced
        assert not any(op["operationId"].startswith(NAMESPACES) for _, _, op in operations(document))
    serviceai = yaml.safe_load((built.a / "apis" / "serviceai.openapi.yaml").read_text(encoding="utf-8"))
    assert serviceai["openapi"] == "3.1.0"


# --------------------------------------------------------------------------- main / --check


def test_check_passes_on_committed_generated_dir(built, monkeypatch, capsys):
    """main(["--check"]) against the committed generated/; the fresh build is the fixture's (no 3rd build)."""
    calls = []

    def cached_build(out: Path, log=print) -> None:
        calls.append(out)
        shutil.copytree(built.a, out)

    monkeypatch.setattr(generate, "build", cached_build)
    assert main(["--check"]) == 0
    assert len(calls) == 1
    assert "up to date" in capsys.readouterr().out


def test_check_fails_and_names_the_differing_file(built, monkeypatch, capsys):
    def drifted_build(out: Path, log=print) -> None:
        shutil.copytree(built.a, out)
        path = out / "apis" / "serviceai.openapi.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "# drift\n", encoding="utf-8")
        (out / "extra.txt").write_text("new\n", encoding="utf-8")

    monkeypatch.setattr(generate, "build", drifted_build)
    assert main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date" in out
    assert "apis: differs: serviceai.openapi.yaml" in out
    assert "extra.txt" in out


def test_committed_generated_matches_fresh_build_bytewise(built):
    committed = _files(ROOT / "generated")
    fresh = _files(built.a)
    assert committed.keys() == fresh.keys()
    assert [name for name in fresh if committed[name] != fresh[name]] == []


def test_pending_mechanism_on_a_small_document():
    """Every API may be complete (no pending operation): exercise the mechanism directly."""
    from tools.generate import add_gateway_responses

    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}},
                         "post": {"operationId": "postA", "requestBody": {"content": {"application/json": {}}},
                                  "responses": {"201": {"description": "ok"}}}}},
        "components": {"schemas": {"Err": {"type": "object"}}},
    }
    add_gateway_responses(doc, {"name": "t", "error_schema": "Err", "pending": ["getA"]})
    get, post = doc["paths"]["/a"]["get"], doc["paths"]["/a"]["post"]
    assert get["x-gateway-pending"] is True and "501" in get["responses"]
    assert get["responses"]["501"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Err"}
    assert "x-gateway-pending" not in post and {"413", "415"} <= set(post["responses"])
