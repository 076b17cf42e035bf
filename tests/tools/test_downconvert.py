"""tools.downconvert: exact 3.1 → 3.0.3 rewrites, loud failures, and the real ServiceAi document."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

from tools.downconvert import DownConvertError, downconvert
from tools.overlay import apply_overlay
from tools.yamlload import load_file

ROOT = Path(__file__).resolve().parents[2]


def _doc31(schemas=None, paths=None, **top):
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": paths or {},
        "components": {"schemas": schemas or {}},
    }
    doc.update(top)
    return doc


def _convert_schema(schema):
    return downconvert(_doc31({"S": schema}))["components"]["schemas"]["S"]


def test_version_becomes_3_0_3():
    assert downconvert(_doc31())["openapi"] == "3.0.3"


def test_type_list_with_null_becomes_nullable():
    assert _convert_schema({"type": ["string", "null"], "maxLength": 3}) == {
        "type": "string",
        "nullable": True,
        "maxLength": 3,
    }


def test_type_list_without_null_of_one_type():
    assert _convert_schema({"type": ["integer"]}) == {"type": "integer"}


def test_nested_schemas_converted():
    converted = _convert_schema(
        {
            "type": "object",
            "properties": {
                "a": {"type": ["integer", "null"]},
                "b": {"type": "array", "items": {"const": "x"}},
                "c": {"oneOf": [{"type": ["number", "null"]}, {"const": 1}]},
                "d": {"additionalProperties": {"type": ["boolean", "null"]}},
                "e": {"not": {"const": 0}},
            },
        }
    )
    props = converted["properties"]
    assert props["a"] == {"type": "integer", "nullable": True}
    assert props["b"]["items"] == {"enum": ["x"]}
    assert props["c"]["oneOf"] == [{"type": "number", "nullable": True}, {"enum": [1]}]
    assert props["d"]["additionalProperties"] == {"type": "boolean", "nullable": True}
    assert props["e"]["not"] == {"enum": [0]}


def test_const_becomes_single_enum():
    assert _convert_schema({"type": "string", "const": "fixed"}) == {"type": "string", "enum": ["fixed"]}


def test_numeric_exclusive_bounds_become_boolean_form():
    assert _convert_schema({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10.5}) == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10.5,
        "exclusiveMaximum": True,
    }


def test_boolean_exclusive_bound_left_alone():
    schema = {"type": "number", "minimum": 1, "exclusiveMinimum": True}
    assert _convert_schema(schema) == schema


def test_ref_with_siblings_becomes_allof():
    converted = _convert_schema({"$ref": "#/components/schemas/Other", "description": "why",
                                 "type": ["object", "null"]})
    assert converted == {
        "description": "why",
        "type": "object",
        "nullable": True,
        "allOf": [{"$ref": "#/components/schemas/Other"}],
    }


def test_ref_with_siblings_keeps_existing_allof_after_the_ref():
    converted = _convert_schema({"$ref": "#/components/schemas/A", "allOf": [{"$ref": "#/components/schemas/B"}]})
    assert converted["allOf"] == [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]


def test_lone_ref_unchanged():
    assert _convert_schema({"$ref": "#/components/schemas/A"}) == {"$ref": "#/components/schemas/A"}


def test_single_examples_becomes_example():
    assert _convert_schema({"type": "string", "examples": ["hello"]}) == {"type": "string", "example": "hello"}


def test_content_encoding_and_media_type():
    assert _convert_schema({"type": "string", "contentEncoding": "base64"}) == {"type": "string", "format": "byte"}
    assert _convert_schema({"type": "string", "contentMediaType": "audio/wav"}) == {
        "type": "string",
        "format": "binary",
    }


def test_schemas_under_paths_are_converted_but_media_type_examples_are_not():
    paths = {
        "/a": {
            "post": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": ["string", "null"]}}],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"const": 1},
                            "examples": {"one": {"value": 1}, "two": {"value": 2}},
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    }
    converted = downconvert(_doc31(paths=paths))
    post = converted["paths"]["/a"]["post"]
    assert post["parameters"][0]["schema"] == {"type": "string", "nullable": True}
    media = post["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"enum": [1]}
    # a media type's examples map is not a schema's examples list
    assert media["examples"] == {"one": {"value": 1}, "two": {"value": 2}}


def test_empty_webhooks_and_default_dialect_removed():
    converted = downconvert(
        _doc31(webhooks={}, jsonSchemaDialect="https://spec.openapis.org/oas/3.1/dialect/base")
    )
    assert "webhooks" not in converted
    assert "jsonSchemaDialect" not in converted


def test_input_not_mutated():
    document = _doc31({"S": {"type": ["string", "null"]}}, webhooks={})
    before = copy.deepcopy(document)
    downconvert(document)
    assert document == before


def test_3_0_document_returned_unchanged():
    document = {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": {},
        # 3.1-looking content in a 3.0 document is not touched
        "components": {"schemas": {"S": {"type": "string", "nullable": True, "const": "x"}}},
    }
    converted = downconvert(document)
    assert converted == document
    assert converted is not document


def test_unsupported_version_rejected():
    with pytest.raises(DownConvertError, match="unsupported OpenAPI version '2.0'"):
        downconvert({"openapi": "2.0"}, name="old")


def test_non_empty_webhooks_rejected():
    document = _doc31(webhooks={"ev": {"post": {"responses": {"200": {"description": "ok"}}}}})
    with pytest.raises(DownConvertError) as info:
        downconvert(document, name="hooky")
    assert "hooky" in str(info.value) and "/webhooks" in str(info.value)


@pytest.mark.parametrize(
    ("schema", "location"),
    [
        ({"type": "array", "prefixItems": [{"type": "string"}]}, "/components/schemas/S/prefixItems"),
        ({"type": "null"}, "/components/schemas/S/type"),
        ({"type": "string", "examples": ["a", "b"]}, "/components/schemas/S/examples"),
        ({"type": "string", "examples": []}, "/components/schemas/S/examples"),
        ({"type": ["string", "integer"]}, "/components/schemas/S/type"),
        ({"type": "string", "contentEncoding": "base32"}, "/components/schemas/S/contentEncoding"),
        ({"items": False}, "/components/schemas/S/items"),
        (
            {"type": "object", "properties": {"inner": {"if": {"type": "string"}}}},
            "/components/schemas/S/properties/inner/if",
        ),
        ({"oneOf": [{"type": "string"}, {"$defs": {}}]}, "/components/schemas/S/oneOf/1/$defs"),
    ],
)
def test_untranslatable_schema_constructs_raise_naming_location(schema, location):
    with pytest.raises(DownConvertError) as info:
        downconvert(_doc31({"S": schema}), name="myapi")
    message = str(info.value)
    assert message.startswith("myapi: ")
    assert location in message


def test_untranslatable_construct_in_operation_named_with_path():
    paths = {
        "/a": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"type": "null"}}},
                    }
                }
            }
        }
    }
    with pytest.raises(DownConvertError) as info:
        downconvert(_doc31(paths=paths), name="api")
    assert "/paths/~1a/get/responses/200/content/application~1json/schema/type" in str(info.value)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema"}, "jsonSchemaDialect"),
        ({"info": {"title": "T", "version": "1", "summary": "s"}}, "/info/summary"),
        ({"info": {"title": "T", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}}}, "identifier"),
    ],
)
def test_document_level_3_1_features_rejected(extra, fragment):
    with pytest.raises(DownConvertError, match=fragment):
        downconvert(_doc31(**extra))


def test_components_path_items_rejected():
    document = _doc31()
    document["components"]["pathItems"] = {"P": {}}
    with pytest.raises(DownConvertError, match="/components/pathItems"):
        downconvert(document)


def test_converted_small_document_validates_as_3_0():
    document = _doc31(
        {
            "A": {"type": "object", "properties": {"n": {"type": ["integer", "null"], "exclusiveMinimum": 0}}},
            "B": {"$ref": "#/components/schemas/A", "description": "an A"},
            "C": {"const": "c", "examples": ["c"]},
        },
        paths={
            "/a": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}},
                        }
                    }
                }
            }
        },
        webhooks={},
    )
    converted = downconvert(document)
    OpenAPIV30SpecValidator(converted).validate()


def test_real_serviceai_document_downconverts_and_validates():
    specs = ROOT / "specs" / "serviceai"
    source = load_file(specs / "openapi.yaml").document
    assert str(source["openapi"]).startswith("3.1")
    overlay = load_file(specs / "overlay.yaml").document
    document = apply_overlay(source, overlay, name="serviceai/overlay.yaml")
    validate(document)  # the 3.1 input is itself valid
    converted = downconvert(document, name="serviceai")
    assert converted["openapi"] == "3.0.3"
    validate(converted)  # auto-detected from the version field
    OpenAPIV30SpecValidator(converted).validate()  # and explicitly as 3.0
    # nothing dropped: same paths and operations, same component names
    assert converted["paths"].keys() == document["paths"].keys()
    for path, item in document["paths"].items():
        assert converted["paths"][path].keys() == item.keys()
    assert converted["components"]["schemas"].keys() == document["components"]["schemas"].keys()
    assert converted["components"]["securitySchemes"] == document["components"]["securitySchemes"]


def test_additional_properties_false_is_kept():
    assert _convert_schema({"type": "object", "additionalProperties": False}) == {
        "type": "object",
        "additionalProperties": False,
    }


def test_non_list_examples_raises_downconvert_error():
    with pytest.raises(DownConvertError, match="/components/schemas/S/examples"):
        _convert_schema({"type": "integer", "examples": 5})


def test_error_location_is_an_escaped_json_pointer():
    paths = {"/a/{id}": {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"type": "null"}}}}}}}}
    with pytest.raises(DownConvertError) as info:
        downconvert(_doc31(paths=paths))
    assert "/paths/~1a~1{id}/get/" in str(info.value)
