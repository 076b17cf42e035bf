"""The generated contract as the server sees it: the merged document and per-API routing metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (≈ 10× faster on the merged contract: start-up)
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _JsonLoader(_SafeLoader):  # type: ignore[valid-type,misc]  # CSafeLoader or SafeLoader
    """SafeLoader that keeps timestamps as strings, so the document stays plain JSON data."""


_JsonLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_json_yaml(text: str) -> Any:
    """Parse YAML into JSON-compatible data (no datetime objects)."""
    return yaml.load(text, Loader=_JsonLoader)  # noqa: S506 - SafeLoader subclass


GENERATED = Path(__file__).resolve().parent.parent / "generated"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class ApiInfo:
    """One API of the gateway, from ``generated/apis.json``."""

    namespace: str
    name: str
    title: str
    mount: str
    package: str
    error_schema: str
    validation_status: int
    document: str
    pending: frozenset[str]
    aliases: dict[str, str]


class Contract:
    """Loads ``generated/`` once: the merged OpenAPI document and the API table."""

    def __init__(self, root: Path = GENERATED) -> None:
        self.root = root
        self.apis: dict[str, ApiInfo] = {
            ns: ApiInfo(
                namespace=ns,
                name=v["name"],
                title=v["title"],
                mount=v["mount"],
                package=v["package"],
                error_schema=v["error_schema"],
                validation_status=v["validation_status"],
                document=v["document"],
                pending=frozenset(v["pending"]),
                aliases=dict(v.get("aliases", {})),
            )
            for ns, v in json.loads((root / "apis.json").read_text(encoding="utf-8")).items()
        }
        self._path_patterns: list[tuple[re.Pattern[str], str]] = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in self.document["paths"]
        ]
        self._prefix_owners: dict[tuple[str, ...], set[str]] = {}
        for path, _method, op in self.operations():
            ns = op["operationId"].split(".", 1)[0]
            static = []
            for segment in path.strip("/").split("/"):
                if "{" in segment:
                    break
                static.append(segment)
            for k in range(1, len(static) + 1):
                self._prefix_owners.setdefault(tuple(static[:k]), set()).add(ns)

    @cached_property
    def text(self) -> str:
        """The merged document as committed (YAML text)."""
        return (self.root / "openapi.yaml").read_text(encoding="utf-8")

    @cached_property
    def document(self) -> dict[str, Any]:
        """The merged OpenAPI 3.0.3 document: from ``openapi.json`` (the generator writes it beside
        the YAML; JSON parses some 40 times faster, which start-up feels), else from the YAML."""
        as_json = self.root / "openapi.json"
        document: dict[str, Any] = (json.loads(as_json.read_text(encoding="utf-8")) if as_json.exists()
                                    else load_json_yaml(self.text))
        return document

    def api_document_text(self, name: str) -> str | None:
        """One API's own (overlaid, un-merged) document as YAML text, or None for an unknown name."""
        for api in self.apis.values():
            if api.name == name:
                return (self.root / api.document).read_text(encoding="utf-8")
        return None

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Yield ``(path, method, operation)`` of the merged document."""
        for path, item in self.document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    yield path, method, item[method]

    def websocket_operations(self) -> dict[str, str]:
        """``{path: operationId}`` of operations whose success is ``101 Switching Protocols``."""
        return {path: op["operationId"] for path, method, op in self.operations()
                if method == "get" and "101" in op.get("responses", {})}

    def split(self, operation_id: str) -> tuple[ApiInfo, str]:
        """``"<ns>.createSession"`` → (the ApiInfo of namespace ``<ns>``, ``"createSession"``)."""
        ns, _, local = operation_id.partition(".")
        return self.apis[ns], local

    def api_owning(self, path: str) -> ApiInfo | None:
        """The API a request path belongs to, from the contract alone.

        A path that matches a path item belongs to that path item's API. Otherwise the
        longest run of leading segments that some documented path starts with decides: if the
        paths starting that way all belong to one API, it owns ``path``; if several APIs
        share it (two APIs mounted under one prefix), no API does (None).
        """
        template = self.template_of(path)
        if template is not None:
            for _, _method, op in self._ops_of(template):
                return self.split(op["operationId"])[0]
        segments = tuple(path.strip("/").split("/"))
        for k in range(len(segments), 0, -1):
            owners = self._prefix_owners.get(segments[:k])
            if owners:
                return self.apis[next(iter(owners))] if len(owners) == 1 else None
        return None

    def template_of(self, path: str) -> str | None:
        """The path item template a request path matches (``/v1/sessions/{sessionId}``), or None."""
        for pattern, template in self._path_patterns:
            if pattern.match(path):
                return template
        return None

    def allowed_methods(self, path: str) -> list[str]:
        """Upper-case methods the contract documents for request path ``path`` (``[]`` if none)."""
        template = self.template_of(path)
        if template is None:
            return []
        return [m.upper() for m in HTTP_METHODS if m in self.document["paths"][template]]

    def _ops_of(self, template: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        item = self.document["paths"][template]
        for method in HTTP_METHODS:
            if method in item:
                yield template, method, item[method]
