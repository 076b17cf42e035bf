"""The offline schema extractor: walks a JSON Schema and fills every property from a text."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.providers.llm.base import _Schemas
from adapters.providers.llm.offline.fitting import _bounds, _dedupe, _fit_number, _fit_string, _json_equal
from adapters.providers.llm.offline.numbers import _numbers
from adapters.providers.llm.offline.props import _Prop, _prop
from adapters.providers.llm.offline.scalars import _boolean, _enum, _enum_score, _number
from adapters.providers.llm.offline.sentences import _Doc
from adapters.providers.llm.offline.strings import _related, _string, _string_items

_MAX_DEPTH = 12


class _Extractor:
    """Walks ``schema`` (``$ref``/``allOf`` resolved) and builds a value for every property from ``text``."""
    def __init__(self, text: str, schema: Mapping[str, Any]) -> None:
        self.doc = _Doc.parse(text)
        self.schemas = _Schemas(schema)
        self.root = schema

    def extract(self) -> dict:
        """The object for the root schema (``{}`` if the root yields no object)."""
        value = self.value(self.root, _Prop("", (), [], set(), set()), self.doc, 0)
        return value if isinstance(value, dict) else {}

    # ---- dispatch -----------------------------------------------------------------------

    def value(self, schema: Any, prop: _Prop, doc: _Doc, depth: int) -> Any:
        """The value for ``schema``: ``const``, ``enum``, the first ``anyOf``/``oneOf`` branch whose value
        validates (null branches last), else by type; past ``_MAX_DEPTH`` levels an empty value of the type."""
        schema = self.schemas.resolve(schema)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return _enum(schema, prop, doc)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                ordered = sorted(branches, key=lambda b: self.schemas.resolve(b).get("type") == "null")
                for branch in ordered:
                    merged = {**base, **self.schemas.resolve(branch)}
                    candidate = self.value(merged, prop, doc, depth + 1)
                    if self.schemas.valid(candidate, schema):
                        return candidate
                return self.value({**base, **self.schemas.resolve(ordered[0])}, prop, doc, depth + 1)
        kind = self.kind(schema)
        if kind == "null":
            return None
        if depth > _MAX_DEPTH:
            return {"object": {}, "array": [], "string": "", "boolean": False}.get(kind, 0)
        if kind == "object":
            return self.object(schema, prop, doc, depth)
        if kind == "array":
            return self.array(schema, prop, doc, depth)
        if kind == "boolean":
            return _boolean(prop, doc)
        if kind in ("number", "integer"):
            return _number(schema, prop, doc, integer=kind == "integer")
        return _string(schema, prop, doc)

    @staticmethod
    def kind(schema: Mapping[str, Any]) -> str:
        """The JSON type a schema asks for (the first non-null one), inferred from its keywords when untyped."""
        types = schema.get("type")
        if isinstance(types, str):
            return types
        if isinstance(types, list) and types:
            non_null = [t for t in types if t != "null"]
            return non_null[0] if non_null else "null"
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            return "number"
        return "string"

    # ---- objects ------------------------------------------------------------------------

    def object(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> dict:
        """Every declared property, then any ``required`` key not declared (by ``additionalProperties``)."""
        out: dict[str, Any] = {}
        declared = schema.get("properties")
        properties: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
        for key, sub in properties.items():
            out[key] = self.value(sub, _prop(key, self.schemas.resolve(sub), prop), doc, depth + 1)
        extra = schema.get("additionalProperties")
        for key in schema.get("required") or []:
            if key not in out:
                sub = extra if isinstance(extra, Mapping) else {"type": "string"}
                out[key] = self.value(sub, _prop(key, self.schemas.resolve(sub), prop), doc, depth + 1)
        return out

    def array(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> list:
        """Items from every match in the text (at most 5 or ``maxItems``), tuple forms included, then fitted."""
        items_schema = schema.get("items")
        if isinstance(items_schema, list):  # draft-04..07 tuple form
            items = [self.value(s, prop, doc, depth + 1) for s in items_schema]
            return self.fit_items(items, {}, schema, prop, doc, depth)
        prefix_items = schema.get("prefixItems")
        prefix: list[Any] = prefix_items if isinstance(prefix_items, list) else []
        head = [self.value(s, prop, doc, depth + 1) for s in prefix]
        items_schema = self.schemas.resolve(items_schema if isinstance(items_schema, Mapping) else {})
        limit = schema.get("maxItems")
        cap = max(0, min(5, limit - len(head))) if isinstance(limit, int) else 5
        kind = self.kind(items_schema) if items_schema else "string"
        item_prop = prop
        values: list[Any] = []
        if isinstance(items_schema.get("enum"), list) and items_schema["enum"]:
            strings = [v for v in items_schema["enum"] if isinstance(v, str)]
            scored = [(_enum_score(v, doc), i, v) for i, v in enumerate(strings)]
            values = [v for score, _, v in sorted(scored, key=lambda x: (-x[0], x[1])) if score > 0][:cap]
        elif "const" in items_schema:
            values = []
        elif kind == "string":
            values = _string_items(item_prop, doc, cap)
            values = [_fit_string(v, items_schema, doc) for v in values]
        elif kind in ("number", "integer"):
            related = _related(prop, doc, limit=len(doc.sentences)) if doc.sentences else []
            source = related or doc.sentences
            nums = [n.value for s in sorted(source, key=lambda s: s.index) for n in _numbers(s)]
            values = [_fit_number(v, items_schema, kind == "integer") for v in nums][:cap]
        elif kind == "object":
            sentences = _related(prop, doc, limit=min(cap, 3))
            values = [
                self.value(items_schema, item_prop, doc.sub([s]), depth + 1)
                for s in sorted(sentences, key=lambda s: s.index)
            ]
        elif kind == "boolean":
            values = []
        return self.fit_items(head + values, items_schema, schema, prop, doc, depth)

    def fit_items(self, items: list, items_schema: Mapping[str, Any], schema: Mapping[str, Any], prop: _Prop,
                  doc: _Doc, depth: int) -> list:  # fmt: skip
        """Apply uniqueItems, maxItems and minItems (padding with further values from the text)."""
        unique = schema.get("uniqueItems") is True
        if unique:
            items = _dedupe(items)
        hi = schema.get("maxItems")
        if isinstance(hi, int):
            items = items[:hi]
        min_items = schema.get("minItems")
        lo: int = min_items if isinstance(min_items, int) else 0
        if len(items) < lo:
            for candidate in self.variants(items_schema, prop, doc, depth):
                if len(items) >= lo:
                    break
                if items_schema and not self.schemas.valid(candidate, items_schema):
                    continue
                if not unique:  # repeats are allowed: the best value fills the rest
                    items.extend(copy.deepcopy(candidate) for _ in range(lo - len(items)))
                    break
                if not any(_json_equal(candidate, i) for i in items):
                    items.append(candidate)
        return items

    def variants(self, items_schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> Iterable[Any]:
        """Candidate items for padding: from the whole text, from each sentence, then synthetic ones."""
        yield self.value(items_schema, prop, doc, depth + 1)
        for s in doc.sentences[:20]:
            yield self.value(items_schema, prop, doc.sub([s]), depth + 1)
        resolved = self.schemas.resolve(items_schema)
        kind = self.kind(resolved) if resolved else "string"
        if isinstance(resolved.get("enum"), list):
            yield from (copy.deepcopy(v) for v in resolved["enum"])
        elif kind == "boolean":
            yield from (False, True)
        elif kind in ("number", "integer"):
            lo, _ = _bounds(resolved, kind == "integer")
            step = resolved.get("multipleOf") or 1
            start = lo if lo is not None else 0
            for i in range(50):
                yield _fit_number(start + i * step, resolved, kind == "integer")
        elif kind == "string":
            for i in range(1, 50):
                yield _fit_string(f"item {i}", resolved, doc)
        elif kind == "array":
            yield []
