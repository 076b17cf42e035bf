"""The generated contract as the server sees it: the merged document and per-API routing metadata."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

class _JsonLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, so the document stays plain JSON data."""


_JsonLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_json_yaml(text: str):
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
        self._path_patterns = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in self.document["paths"]
        ]

    @cached_property
    def text(self) -> str:
        """The merged document as committed (YAML text)."""
        return (self.root / "openapi.yaml").read_text(encoding="utf-8")

    @cached_property
    def document(self) -> dict[str, Any]:
        """The merged OpenAPI 3.0.3 document."""
        return load_json_yaml(self.text)

    def api_document_text(self, name: str) -> str | None:
        """One API's own (overlaid, un-merged) document as YAML text, or None for an unknown name."""
        for api in self.apis.values():
            if api.name == name:
                return (self.root / api.document).read_text(encoding="utf-8")
        return None

    def operations(self):
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
        """``"vb.createSession"`` → (the Virtual Banker ApiInfo, ``"createSession"``)."""
        ns, _, local = operation_id.partition(".")
        return self.apis[ns], local

    def api_for_path(self, path: str) -> ApiInfo | None:
        """The API owning ``path`` (a request path): by template match, else by mount prefix."""
        for pattern, template in self._path_patterns:
            if pattern.match(path):
                for _, method, op in self._ops_of(template):
                    return self.split(op["operationId"])[0]
        best: ApiInfo | None = None
        for api in self.apis.values():
            prefix = api.mount.rstrip("/")
            if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > len(best.mount)):
                best = api
        return best

    def allowed_methods(self, path: str) -> list[str]:
        """Upper-case methods the contract documents for request path ``path`` (``[]`` if none)."""
        for pattern, template in self._path_patterns:
            if pattern.match(path):
                return [m.upper() for m in HTTP_METHODS if m in self.document["paths"][template]]
        return []

    def _ops_of(self, template: str):
        item = self.document["paths"][template]
        for method in HTTP_METHODS:
            if method in item:
                yield template, method, item[method]
