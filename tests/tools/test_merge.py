"""tools.merge: namespacing, ref rewriting, security propagation, ordering and collision errors."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator import validate

from tools.merge import MergeError, Mount, check_refs, check_security, merge, namespaced, operations

INFO = {"title": "Merged", "version": "0.0.1"}
SERVERS = [{"url": "/"}]


def _ok(schema_ref: str | None = None):
    response = {"description": "ok"}
    if schema_ref:
        response["content"] = {"application/json": {"schema": {"$ref": schema_ref}}}
    return {"200": response}


def _path_param(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def doc_a():
    """A small 3.0 document with components of several kinds, tags, security and deep refs."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "A", "version": "1"},
        "security": [{"bearer": []}],
        "tags": [{"name": "Calls", "description": "Call things"}, {"name": "Meta"}],
        "paths": {
            "/call/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {
                    "operationId": "getCall",
                    "tags": ["Calls"],
                    "responses": _ok("#/components/schemas/Call"),
                },
            },
            "/call/list": {
                "post": {
                    "operationId": "listCalls",
                    "tags": ["Calls", "Extra"],
                    "requestBody": {"$ref": "#/components/requestBodies/Filter"},
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Call/properties/status"}
                                }
                            },
                        },
                        "default": {"$ref": "#/components/responses/Error"},
                    },
                },
            },
            "/health": {
                "get": {
                    "operationId": "getHealth",
                    "tags": ["Meta"],
                    "security": [],
                    "responses": _ok(),
                }
            },
            "/admin": {
                "get": {
                    "operationId": "admin",
                    "security": [{"apiKey": []}, {"bearer": ["admin"]}],
                    "responses": _ok(),
                }
            },
        },
        "components": {
            "schemas": {
                "Call": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string"},
                        "pet": {"$ref": "#/components/schemas/Pet"},
                    },
                },
                "Pet": {
                    "oneOf": [{"$ref": "#/components/schemas/Dog"}, {"$ref": "#/components/schemas/Cat"}],
                    "discriminator": {
                        "propertyName": "kind",
                        "mapping": {"dog": "#/components/schemas/Dog", "cat": "#/components/schemas/Cat"},
                    },
                },
                "Dog": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Cat": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
            },
            "parameters": {"Id": _path_param("id")},
            "requestBodies": {
                "Filter": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Call"}}}
                }
            },
            "responses": {
                "Error": {
                    "description": "error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"},
            },
        },
    }


def doc_b():
    """Another document reusing the same component, tag, operationId and scheme names as doc_a."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "B", "version": "1"},
        "tags": [{"name": "Calls"}],
        "paths": {
            "/calls/{callId}": {
                "get": {
                    "operationId": "getCall",
                    "tags": ["Calls"],
                    "parameters": [_path_param("callId")],
                    "security": [{"bearer": []}],
                    "responses": _ok("#/components/schemas/Call"),
                }
            },
            "/": {"get": {"operationId": "root", "responses": _ok()}},
        },
        "components": {
            "schemas": {"Call": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def simple_doc(paths, **components):
    return {
        "openapi": "3.0.3",
        "info": {"title": "S", "version": "1"},
        "paths": paths,
        "components": components,
    }


@pytest.fixture
def merged():
    return merge(
        [
            Mount("api-a", "a", "/v1", doc_a(), {"/health": [("", "AtRoot")]}),
            Mount("api-b", "b", "/v1", doc_b()),
        ],
        INFO,
        SERVERS,
    )


def _ops(document):
    return {op["operationId"]: (path, method, op) for path, method, op in operations(document)}


def test_merged_document_is_valid_openapi_3_0(merged):
    assert merged["openapi"] == "3.0.3"
    assert merged["info"] == INFO
    assert merged["servers"] == SERVERS
    validate(merged)


def test_components_namespaced(merged):
    components = merged["components"]
    assert list(components["schemas"]) == sorted(
        ["a.Call", "a.Pet", "a.Dog", "a.Cat", "a.Error", "b.Call"]
    )
    assert components["schemas"]["b.Call"]["properties"] == {"id": {"type": "integer"}}
    assert list(components["parameters"]) == ["a.Id"]
    assert list(components["requestBodies"]) == ["a.Filter"]
    assert list(components["responses"]) == ["a.Error"]
    assert components["securitySchemes"] == {
        "a.apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "a.bearer": {"type": "http", "scheme": "bearer"},
        "b.bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }


def test_operation_ids_and_tags_namespaced(merged):
    ops = _ops(merged)
    assert set(ops) == {
        "a.getCall", "a.listCalls", "a.getHealth", "a.getHealthAtRoot", "a.admin", "b.getCall", "b.root",
    }
    assert ops["a.getCall"][2]["tags"] == ["a.Calls"]
    assert ops["a.listCalls"][2]["tags"] == ["a.Calls", "a.Extra"]
    assert ops["b.getCall"][2]["tags"] == ["b.Calls"]
    tags = {t["name"]: t for t in merged["tags"]}
    assert [t["name"] for t in merged["tags"]] == ["a.Calls", "a.Meta", "a.Extra", "b.Calls"]
    # declared tags get the source name prefixed to their description; undeclared ones are added
    assert tags["a.Calls"]["description"] == "api-a: Call things"
    assert tags["a.Meta"]["description"] == "api-a: Meta"
    assert tags["a.Extra"]["description"] == "api-a: Extra"
    assert tags["b.Calls"]["description"] == "api-b: Calls"


def test_refs_rewritten_including_deep_ones(merged):
    paths = merged["paths"]
    assert paths["/v1/call/{id}"]["parameters"] == [{"$ref": "#/components/parameters/a.Id"}]
    post = paths["/v1/call/list"]["post"]
    assert post["requestBody"] == {"$ref": "#/components/requestBodies/a.Filter"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/a.Call/properties/status"
    }
    assert post["responses"]["default"] == {"$ref": "#/components/responses/a.Error"}
    schemas = merged["components"]["schemas"]
    assert schemas["a.Call"]["properties"]["pet"] == {"$ref": "#/components/schemas/a.Pet"}
    assert merged["components"]["requestBodies"]["a.Filter"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/a.Call"
    }
    assert paths["/v1/calls/{callId}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/b.Call"
    }


def test_discriminator_mapping_rewritten(merged):
    pet = merged["components"]["schemas"]["a.Pet"]
    assert pet["discriminator"] == {
        "propertyName": "kind",
        "mapping": {"dog": "#/components/schemas/a.Dog", "cat": "#/components/schemas/a.Cat"},
    }
    assert pet["oneOf"] == [{"$ref": "#/components/schemas/a.Dog"}, {"$ref": "#/components/schemas/a.Cat"}]


def test_top_level_security_copied_to_operations(merged):
    ops = _ops(merged)
    assert "security" not in merged
    # doc_a's default lands on operations without their own
    assert ops["a.getCall"][2]["security"] == [{"a.bearer": []}]
    assert ops["a.listCalls"][2]["security"] == [{"a.bearer": []}]
    # explicit security is namespaced, explicit [] stays []
    assert ops["a.admin"][2]["security"] == [{"a.apiKey": []}, {"a.bearer": ["admin"]}]
    assert ops["a.getHealth"][2]["security"] == []
    assert ops["a.getHealthAtRoot"][2]["security"] == []
    assert ops["b.getCall"][2]["security"] == [{"b.bearer": []}]
    # doc_b has no default: its other operations stay without security
    assert "security" not in ops["b.root"][2]


def test_extra_paths_mounted_with_operation_id_suffix(merged):
    paths = merged["paths"]
    assert paths["/v1/health"]["get"]["operationId"] == "a.getHealth"
    assert paths["/health"]["get"]["operationId"] == "a.getHealthAtRoot"
    # the alias is a copy of the same operation otherwise
    alias = copy.deepcopy(paths["/health"]["get"])
    alias["operationId"] = "a.getHealth"
    assert alias == paths["/v1/health"]["get"]


def test_source_documents_not_mutated():
    a, b = doc_a(), doc_b()
    merge([Mount("api-a", "a", "/v1", a, {"/health": [("", "AtRoot")]}), Mount("api-b", "b", "/x", b)], INFO, SERVERS)
    assert a == doc_a()
    assert b == doc_b()


def test_root_path_mounted_under_prefix_and_at_slash():
    merged = merge(
        [
            Mount("root", "r", "/", simple_doc({"/": {"get": {"operationId": "x", "responses": _ok()}},
                                                "/a": {"get": {"operationId": "y", "responses": _ok()}}})),
            Mount("pre", "p", "/v2/", simple_doc({"/": {"get": {"operationId": "z", "responses": _ok()}}})),
        ],
        INFO,
        SERVERS,
    )
    assert set(merged["paths"]) == {"/", "/a", "/v2/"}


def test_literal_segments_sorted_before_templated_ones():
    paths = {
        "/call/{id}": {"get": {"operationId": "getCall", "parameters": [_path_param("id")], "responses": _ok()}},
        "/call/{id}/end": {"post": {"operationId": "end", "parameters": [_path_param("id")], "responses": _ok()}},
        "/call/list": {"get": {"operationId": "list", "responses": _ok()}},
        "/{org}/x": {"get": {"operationId": "org", "parameters": [_path_param("org")], "responses": _ok()}},
        "/call": {"get": {"operationId": "calls", "responses": _ok()}},
        "/agent": {"get": {"operationId": "agents", "responses": _ok()}},
    }
    merged = merge([Mount("s", "s", "/v1", simple_doc(paths))], INFO, SERVERS)
    order = list(merged["paths"])
    assert order == ["/v1/agent", "/v1/call", "/v1/call/list", "/v1/call/{id}", "/v1/call/{id}/end", "/v1/{org}/x"]
    assert order.index("/v1/call/list") < order.index("/v1/call/{id}")


def test_same_path_different_methods_from_two_sources_share_one_path_item():
    one = simple_doc({"/x": {"get": {"operationId": "g", "responses": _ok()}}})
    two = simple_doc({"/x": {"post": {"operationId": "p", "responses": _ok()}}})
    merged = merge([Mount("one", "o", "/v", one), Mount("two", "t", "/v", two)], INFO, SERVERS)
    assert set(merged["paths"]["/v/x"]) == {"get", "post"}


def test_path_and_method_collision_names_both_sources():
    one = simple_doc({"/x": {"get": {"operationId": "g", "responses": _ok()}}})
    two = simple_doc({"/x": {"get": {"operationId": "h", "responses": _ok()}}})
    with pytest.raises(MergeError) as info:
        merge([Mount("first-api", "f", "/v", one), Mount("second-api", "s", "/v", two)], INFO, SERVERS)
    message = str(info.value)
    assert "first-api" in message and "second-api" in message
    assert "GET /v/x" in message


def test_templated_path_collision_with_different_parameter_names():
    one = simple_doc({"/a/{x}": {"get": {"operationId": "g", "parameters": [_path_param("x")], "responses": _ok()}}})
    two = simple_doc({"/a/{y}": {"get": {"operationId": "h", "parameters": [_path_param("y")], "responses": _ok()}}})
    with pytest.raises(MergeError) as info:
        merge([Mount("first-api", "f", "/", one), Mount("second-api", "s", "/", two)], INFO, SERVERS)
    message = str(info.value)
    assert "path collision" in message
    assert "first-api" in message and "second-api" in message


def test_extra_mount_colliding_with_other_source_is_detected():
    one = simple_doc({"/health": {"get": {"operationId": "h", "responses": _ok()}}})
    two = simple_doc({"/health": {"get": {"operationId": "h", "responses": _ok()}}})
    with pytest.raises(MergeError) as info:
        merge(
            [Mount("root-api", "r", "/", two), Mount("v1-api", "v", "/v1", one, {"/health": [("", "AtRoot")]})],
            INFO,
            SERVERS,
        )
    assert "root-api" in str(info.value) and "v1-api" in str(info.value)


def test_operation_id_collision_within_one_document_names_both_locations():
    doc = simple_doc(
        {
            "/a": {"get": {"operationId": "dup", "responses": _ok()}},
            "/b": {"post": {"operationId": "dup", "responses": _ok()}},
        }
    )
    with pytest.raises(MergeError) as info:
        merge([Mount("one-api", "o", "/", doc)], INFO, SERVERS)
    message = str(info.value)
    assert "operationId collision" in message
    assert "'dup'" in message and "one-api" in message
    assert "GET /a" in message and "POST /b" in message


def test_operation_id_collision_across_sources_via_suffix():
    # an extra mount whose suffixed id equals another operationId of the same namespace
    doc = simple_doc(
        {
            "/health": {"get": {"operationId": "getHealth", "responses": _ok()}},
            "/status": {"get": {"operationId": "getHealthAtRoot", "responses": _ok()}},
        }
    )
    with pytest.raises(MergeError, match="operationId collision: 's.getHealthAtRoot'"):
        merge([Mount("s-api", "s", "/v1", doc, {"/health": [("", "AtRoot")]})], INFO, SERVERS)


def test_missing_operation_id_rejected():
    doc = simple_doc({"/a": {"get": {"responses": _ok()}}})
    with pytest.raises(MergeError, match=r"GET /a has no operationId"):
        namespaced(Mount("s-api", "s", "/", doc))


def test_dangling_ref_names_source():
    doc = simple_doc(
        {"/a": {"get": {"operationId": "g", "responses": _ok("#/components/schemas/Missing")}}},
        schemas={"Present": {"type": "string"}},
    )
    with pytest.raises(MergeError) as info:
        merge([Mount("broken-api", "b", "/", doc)], INFO, SERVERS)
    message = str(info.value)
    assert message.startswith("broken-api: dangling $ref")
    assert "#/components/schemas/Missing" in message


def test_dangling_deep_ref_detected():
    doc = simple_doc(
        {"/a": {"get": {"operationId": "g", "responses": _ok("#/components/schemas/P/properties/nope")}}},
        schemas={"P": {"type": "object", "properties": {"yes": {"type": "string"}}}},
    )
    with pytest.raises(MergeError, match="broken-api: dangling"):
        merge([Mount("broken-api", "b", "/", doc)], INFO, SERVERS)


def test_external_ref_rejected():
    doc = simple_doc({"/a": {"get": {"operationId": "g", "responses": _ok("other.yaml#/X")}}})
    with pytest.raises(MergeError, match="ext-api: external \\$ref"):
        check_refs(doc, "ext-api")


def test_check_refs_resolves_escaped_pointers_and_list_indices():
    doc = simple_doc(
        {
            "/a/b": {
                "get": {
                    "operationId": "g",
                    "parameters": [_path_param("p")],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/c": {
                "get": {
                    "operationId": "h",
                    "parameters": [{"$ref": "#/paths/~1a~1b/get/parameters/0"}],
                    "responses": _ok(),
                }
            },
        }
    )
    check_refs(doc, "fine")  # does not raise
    doc["paths"]["/c"]["get"]["parameters"][0]["$ref"] = "#/paths/~1a~1b/get/parameters/1"
    with pytest.raises(MergeError, match="fine: dangling"):
        check_refs(doc, "fine")


def test_undeclared_security_scheme_in_operation_names_source():
    doc = simple_doc(
        {"/a": {"get": {"operationId": "g", "security": [{"oauth": []}], "responses": _ok()}}},
        securitySchemes={"bearer": {"type": "http", "scheme": "bearer"}},
    )
    with pytest.raises(MergeError) as info:
        merge([Mount("insecure-api", "i", "/", doc)], INFO, SERVERS)
    message = str(info.value)
    assert message.startswith("insecure-api:")
    assert "'oauth'" in message
    assert "/get/security" in message


def test_undeclared_top_level_security_scheme_names_source():
    doc = simple_doc({"/a": {"get": {"operationId": "g", "responses": _ok()}}})
    doc["security"] = [{"bearer": []}]
    with pytest.raises(MergeError, match=r"insecure-api: /security references undeclared security scheme 'bearer'"):
        check_security(doc, "insecure-api")


def test_discriminator_mapping_with_bare_schema_names_rewritten():
    doc = simple_doc(
        {"/p": {"get": {"operationId": "g", "responses": _ok("#/components/schemas/Pet")}}},
        schemas={
            "Pet": {
                "oneOf": [{"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "kind", "mapping": {"dog": "Dog"}},
            },
            "Dog": {"type": "object", "properties": {"kind": {"type": "string"}}},
        },
    )
    merged = merge([Mount("api-a", "a", "/", doc)], INFO, SERVERS)
    mapping = merged["components"]["schemas"]["a.Pet"]["discriminator"]["mapping"]
    assert mapping["dog"] in ("a.Dog", "#/components/schemas/a.Dog")


def test_equivalent_templated_paths_with_different_methods_are_not_both_emitted():
    one = simple_doc({"/a/{x}": {"get": {"operationId": "g", "parameters": [_path_param("x")], "responses": _ok()}}})
    two = simple_doc({"/a/{y}": {"post": {"operationId": "p", "parameters": [_path_param("y")], "responses": _ok()}}})
    try:
        merged = merge([Mount("first-api", "f", "/", one), Mount("second-api", "s", "/", two)], INFO, SERVERS)
    except MergeError as exc:
        assert "first-api" in str(exc) and "second-api" in str(exc)
    else:
        assert [p for p in merged["paths"] if p.startswith("/a/")] in (["/a/{x}"], ["/a/{y}"])


def test_two_operations_without_operation_id_reported_as_missing():
    doc = simple_doc({"/a": {"get": {"responses": _ok()}}, "/b": {"get": {"responses": _ok()}}})
    with pytest.raises(MergeError, match="has no operationId"):
        merge([Mount("s-api", "s", "/", doc)], INFO, SERVERS)
