"""OpenAPI 3.0 schemas as compiled JSON Schema validators (jsonschema-rs), built once and cached.

OpenAPI 3.0's Schema Object is a dialect of JSON Schema draft 4. :func:`to_json_schema` turns it
into plain draft 4: ``nullable: true`` becomes a ``"null"`` member of ``type`` (or of ``enum``,
or an ``anyOf`` branch for a schema without ``type``); ``discriminator``, ``example``,
``xml``, ``externalDocs``, ``deprecated``, ``readOnly``/``writeOnly`` and ``x-`` extensions are
annotations and are dropped. ``$ref``s keep pointing into the document (``#/components/...``),
resolved through one jsonschema-rs registry holding the converted document.

:class:`SchemaSet` compiles a validator per schema the first time it is needed (start-up stays
fast) and reuses it afterwards. Formats are checked (``date-time``, ``uri``, ``email``, …);
unknown ones (``binary``, ``byte``, ``float``, ``mp3``) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

DOCUMENT_URI = "urn:gateway:contract"
_ANNOTATIONS = frozenset({"discriminator", "example", "examples", "xml", "externalDocs", "deprecated",
                          "readOnly", "writeOnly"})


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_VALUES = frozenset({"items", "additionalProperties", "not"})


def to_json_schema(schema: Any) -> Any:
    """The draft 4 JSON Schema equivalent of one OpenAPI 3.0 Schema Object (recursively; keyword
    values that are data — ``enum``, ``default``, ``required`` … — are kept as they are)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key == "nullable" or key.startswith("x-"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = DOCUMENT_URI + value
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if schema.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif isinstance(kind, list):
            if "null" not in kind:
                out["type"] = [*kind, "null"]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def document_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The part of an OpenAPI document ``$ref``s may point into, converted: ``components.schemas``."""
    schemas = document.get("components", {}).get("schemas", {})
    return {"components": {"schemas": {name: to_json_schema(schema) for name, schema in schemas.items()}}}


@dataclass(frozen=True, slots=True)
class Finding:
    """One way an instance breaks its schema: ``path`` into the instance and ``message``."""

    path: tuple[str | int, ...]
    message: str

    def where(self, root: str) -> str:
        """``root.a.0.b`` — where in the request the problem is."""
        return ".".join([root, *(str(p) for p in self.path)])


class Validator:
    """A compiled schema: :meth:`findings` lists what an instance breaks (empty when valid)."""

    __slots__ = ("_compiled",)

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def is_valid(self, instance: Any) -> bool:
        """True when ``instance`` satisfies the schema."""
        return bool(self._compiled.is_valid(instance))

    def findings(self, instance: Any, limit: int = 10) -> list[Finding]:
        """Up to ``limit`` findings, most specific first (empty when valid)."""
        if self._compiled.is_valid(instance):  # the common case: no error objects built at all
            return []
        out: list[Finding] = []
        for error in self._compiled.iter_errors(instance):
            out.append(Finding(tuple(error.instance_path), str(error.message)))
            if len(out) >= limit:
                break
        return out


class SchemaSet:
    """Validators for the schemas of one OpenAPI 3.0 document, compiled on first use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._registry = jsonschema_rs.Registry([(DOCUMENT_URI, document_schemas(document))])
        self._cache: dict[str, Validator] = {}

    def validator(self, schema: dict[str, Any]) -> Validator:
        """The validator of ``schema`` (an OpenAPI 3.0 schema of the document, e.g. a
        ``{"$ref": "#/components/schemas/X"}`` or an inline one)."""
        key = json.dumps(schema, sort_keys=True, default=str)
        found = self._cache.get(key)
        if found is None:
            compiled = jsonschema_rs.Draft4Validator(to_json_schema(schema), registry=self._registry,
                                                     validate_formats=True)
            found = self._cache[key] = Validator(compiled)
        return found

    def compile_all(self, schemas: Iterable[dict[str, Any]]) -> int:
        """Compile ``schemas`` now (e.g. in the background after start-up); returns how many."""
        count = 0
        for schema in schemas:
            self.validator(schema)
            count += 1
        return count
