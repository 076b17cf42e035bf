"""Down-convert an OpenAPI 3.1 document to 3.0.3 without losing meaning.

connexion 3 validates OpenAPI 3.0 only. Every 3.1 construct is either rewritten to
an exact 3.0 equivalent or rejected with :class:`DownConvertError` naming its
location — never dropped silently.

Rewrites: ``type: [T, "null"]`` → ``type: T, nullable: true``; ``const: v`` →
``enum: [v]``; numeric ``exclusiveMinimum``/``exclusiveMaximum`` → boolean form;
a single-element ``examples`` list in a schema → ``example``; ``$ref`` with sibling
keys → ``allOf: [{$ref}]`` plus the siblings; ``contentEncoding: base64`` →
``format: byte``; ``contentMediaType`` on a string → ``format: binary``; an empty
top-level ``webhooks: {}`` and ``jsonSchemaDialect`` equal to the OAS default are
removed.
"""

from __future__ import annotations

import copy
from typing import Any

OAS_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"

# Keys under which a value is a schema, a map of schemas, or a list of schemas.
_SCHEMA_KEYS = {"items", "not", "additionalProperties", "schema"}
_SCHEMA_MAP_KEYS = {"properties"}
_SCHEMA_LIST_KEYS = {"allOf", "anyOf", "oneOf"}
_UNSUPPORTED = {
    "prefixItems",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "$defs",
    "$anchor",
    "$dynamicRef",
}


class DownConvertError(ValueError):
    """Raised for a 3.1 construct that has no exact OpenAPI 3.0 equivalent."""


def _at(where: str, key: object) -> str:
    """Append ``key`` to the JSON pointer ``where`` (RFC 6901 escaping)."""
    return f"{where}/" + str(key).replace("~", "~0").replace("/", "~1")


def _schema(node: Any, where: str) -> Any:
    if not isinstance(node, dict):
        if node is True:
            return {}
        if node is False:
            raise DownConvertError(f"{where}: boolean schema false has no 3.0 form")
        return node
    out: dict[str, Any] = {}
    if "$ref" in node and len(node) > 1:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        converted = _schema(siblings, where)
        converted.setdefault("allOf", [])
        converted["allOf"] = [{"$ref": node["$ref"]}, *converted["allOf"]]
        return converted
    for key, value in node.items():
        here = _at(where, key)
        if key in _UNSUPPORTED:
            raise DownConvertError(f"{here}: JSON Schema keyword {key!r} has no OpenAPI 3.0 form")
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) != 1:
                raise DownConvertError(f"{here}: type list {value!r} needs anyOf; not converted automatically")
            out["type"] = types[0]
            if "null" in value:
                out["nullable"] = True
        elif key == "type" and value == "null":
            raise DownConvertError(f"{here}: type 'null' alone has no 3.0 form")
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out[key.replace("exclusiveM", "m")] = value
            out[key] = True
        elif key == "examples":
            if not isinstance(value, list) or len(value) != 1:
                count = len(value) if isinstance(value, list) else "a non-list"
                raise DownConvertError(f"{here}: schema 'examples' with {count} entries cannot become 'example'")
            out["example"] = value[0]
        elif key == "contentEncoding":
            if value != "base64":
                raise DownConvertError(f"{here}: contentEncoding {value!r} has no 3.0 format")
            out["format"] = "byte"
        elif key == "contentMediaType":
            out.setdefault("format", "binary")
        elif key == "additionalProperties" and isinstance(value, bool):
            out[key] = value
        elif key in _SCHEMA_KEYS and key != "schema":
            out[key] = _schema(value, here)
        elif key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            out[key] = {name: _schema(sub, _at(here, name)) for name, sub in value.items()}
        elif key in _SCHEMA_LIST_KEYS:
            out[key] = [_schema(sub, _at(here, i)) for i, sub in enumerate(value)]
        else:
            out[key] = copy.deepcopy(value)
    return out


def _walk(node: Any, where: str) -> Any:
    """Walk the non-schema parts of the document and convert every schema found."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            here = _at(where, key)
            if key == "schema":
                out[key] = _schema(value, here)
            elif key == "schemas" and where == "/components":
                out[key] = {name: _schema(s, _at(here, name)) for name, s in value.items()}
            else:
                out[key] = _walk(value, here)
        return out
    if isinstance(node, list):
        return [_walk(v, _at(where, i)) for i, v in enumerate(node)]
    return node


def downconvert(document: dict[str, Any], *, name: str = "document") -> dict[str, Any]:
    """Return an OpenAPI 3.0.3 copy of a 3.1 ``document`` (a 3.0 one is returned unchanged).

    Raises :class:`DownConvertError` naming ``name`` and the JSON-pointer location of
    the first construct that cannot be expressed in 3.0.
    """
    version = str(document.get("openapi", ""))
    if version.startswith("3.0"):
        return copy.deepcopy(document)
    if not version.startswith("3.1"):
        raise DownConvertError(f"{name}: unsupported OpenAPI version {version!r}")
    doc = copy.deepcopy(document)
    if doc.get("webhooks"):
        raise DownConvertError(f"{name}: /webhooks is not empty; OpenAPI 3.0 has no webhooks")
    doc.pop("webhooks", None)
    dialect = doc.pop("jsonSchemaDialect", OAS_DIALECT)
    if dialect != OAS_DIALECT:
        raise DownConvertError(f"{name}: jsonSchemaDialect {dialect!r} is not the OAS default")
    if "pathItems" in doc.get("components", {}):
        raise DownConvertError(f"{name}: /components/pathItems has no 3.0 form")
    license_ = doc.get("info", {}).get("license", {})
    if "identifier" in license_:
        raise DownConvertError(f"{name}: /info/license/identifier has no 3.0 form")
    if "summary" in doc.get("info", {}):
        raise DownConvertError(f"{name}: /info/summary has no 3.0 form")
    try:
        converted: dict[str, Any] = _walk(doc, "")
    except DownConvertError as exc:
        raise DownConvertError(f"{name}: {exc}") from None
    converted["openapi"] = "3.0.3"
    return converted
