"""Merge several OpenAPI 3.0 documents into one, namespacing everything that could collide.

Each source document is mounted at a path prefix and given a namespace ``ns``:
component names become ``ns.Name`` (schemas, responses, parameters, headers,
request bodies, examples, links, callbacks, security schemes), tags become
``ns.Tag``, operationIds become ``ns.operationId``, and every ``$ref`` — including
deep ones such as ``#/components/schemas/A/properties/b`` and discriminator
mappings — is rewritten to match. A document's top-level ``security`` is copied
onto each of its operations that has none, because the merged document can hold
only one top-level default.

The merge fails with :class:`MergeError`, naming both sources, on a path+method
collision or an operationId collision, and naming the source on a dangling
``$ref`` or a reference to an undeclared security scheme.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
)
_REF = re.compile(r"^#/components/(?P<kind>[A-Za-z]+)/(?P<name>[^/]+)(?P<rest>(/.*)?)$")


class MergeError(ValueError):
    """Raised when the sources cannot be merged into one valid document."""


@dataclass
class Mount:
    """One source document and where it goes in the merged document.

    ``extra_paths`` maps an original path to further mount points as
    ``{path: [(prefix, operation_id_suffix), ...]}`` (e.g. ``/health`` also at the root).
    """

    name: str
    namespace: str
    prefix: str
    document: dict[str, Any]
    extra_paths: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _pointer_get(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_refs(document: dict[str, Any], source: str) -> None:
    """Raise :class:`MergeError` for any local ``$ref`` that resolves to nothing."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#"):
                    raise MergeError(f"{source}: external $ref {ref!r} at {where} is not supported")
                try:
                    _pointer_get(document, ref[1:])
                except (KeyError, IndexError, ValueError, TypeError):
                    raise MergeError(f"{source}: dangling $ref {ref!r} at {where}") from None
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document, "")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(path, method, operation)`` for every operation of ``document``."""
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and method in item:
                yield path, method, item[method]


def check_security(document: dict[str, Any], source: str) -> None:
    """Raise :class:`MergeError` for a security requirement naming an undeclared scheme."""
    declared = set((document.get("components") or {}).get("securitySchemes") or {})
    requirements = [("/security", document.get("security") or [])]
    for path, method, op in operations(document):
        requirements.append((f"/paths/{path}/{method}/security", op.get("security") or []))
    for where, reqs in requirements:
        for requirement in reqs:
            for scheme in requirement:
                if scheme not in declared:
                    raise MergeError(f"{source}: {where} references undeclared security scheme {scheme!r}")


def _rename_ref(ref: str, ns: str) -> str:
    match = _REF.match(ref)
    if not match:
        return ref
    return f"#/components/{match['kind']}/{ns}.{match['name']}{match['rest']}"


def _mapping_target(value: str, ns: str) -> str:
    """A discriminator mapping value: a ``$ref`` or a bare schema name (OAS 3.0 allows both)."""
    return _rename_ref(value, ns) if value.startswith("#") else f"#/components/schemas/{ns}.{value}"


def _discriminator(node: dict[str, Any], ns: str) -> dict[str, Any]:
    """Rewrite a discriminator so its meaning survives namespacing.

    Without a ``mapping`` the implicit discriminator values are the *schema names* of the
    ``oneOf``/``anyOf`` references; namespacing would change them, so the implicit mapping
    is written out under the original names first.
    """
    disc: dict[str, Any] = copy.deepcopy(node["discriminator"])
    mapping = disc.get("mapping")
    if mapping is None:
        refs = [s["$ref"] for key in ("oneOf", "anyOf") for s in node.get(key, []) if "$ref" in s]
        mapping = {ref.rsplit("/", 1)[-1]: ref for ref in refs if _REF.match(ref)}
    if mapping:
        disc["mapping"] = {k: _mapping_target(v, ns) for k, v in mapping.items()}
    return disc


def _rewrite_refs(node: Any, ns: str) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _rename_ref(value, ns)
            elif key == "discriminator" and isinstance(value, dict):
                out[key] = _discriminator(node, ns)
            else:
                out[key] = _rewrite_refs(value, ns)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, ns) for v in node]
    return node


def _namespace_security(reqs: list[dict[str, Any]], ns: str) -> list[dict[str, Any]]:
    return [{f"{ns}.{name}": scopes for name, scopes in req.items()} for req in reqs]


def _namespace_links(op: dict[str, Any], ns: str) -> None:
    """Point the operation's response links at the namespaced operationIds (``getSession`` →
    ``vb.getSession``)."""
    for response in (op.get("responses") or {}).values():
        for link in (response.get("links") or {}).values() if isinstance(response, dict) else ():
            if isinstance(link, dict) and "operationId" in link:
                link["operationId"] = f"{ns}.{link['operationId']}"


def namespaced(mount: Mount) -> dict[str, Any]:
    """Return ``mount.document`` with components, tags, operationIds and refs namespaced
    and its paths prefixed; the result is a fragment with ``paths``, ``components`` and ``tags``."""
    ns = mount.namespace
    doc = _rewrite_refs(mount.document, ns)
    default_security = doc.get("security")
    components = {
        kind: {f"{ns}.{name}": value for name, value in (doc.get("components") or {}).get(kind, {}).items()}
        for kind in COMPONENT_KINDS
        if (doc.get("components") or {}).get(kind)
    }
    tags = [
        {**tag, "name": f"{ns}.{tag['name']}", "description": f"{mount.name}: {tag.get('description', tag['name'])}"}
        for tag in doc.get("tags") or []
    ]
    declared_tags = {t["name"] for t in tags}
    paths: dict[str, Any] = {}
    for path, item in (doc.get("paths") or {}).items():
        mounts = [(mount.prefix, "")] + list(mount.extra_paths.get(path, []))
        for prefix, suffix in mounts:
            new_item = copy.deepcopy(item)
            for method in HTTP_METHODS:
                op = new_item.get(method)
                if op is None:
                    continue
                if "operationId" not in op:
                    raise MergeError(f"{mount.name}: {method.upper()} {path} has no operationId")
                op["operationId"] = f"{ns}.{op['operationId']}{suffix}"
                _namespace_links(op, ns)
                op["tags"] = [f"{ns}.{t}" for t in op.get("tags") or []]
                for tag in op["tags"]:
                    if tag not in declared_tags:
                        tags.append({"name": tag, "description": f"{mount.name}: {tag[len(ns) + 1:]}"})
                        declared_tags.add(tag)
                if "security" in op:
                    op["security"] = _namespace_security(op["security"], ns)
                elif default_security is not None:
                    op["security"] = _namespace_security(default_security, ns)
            full = (prefix.rstrip("/") + path) or "/"
            paths[full] = new_item
    return {"paths": paths, "components": components, "tags": tags}


def _path_key(path: str) -> tuple[Any, ...]:
    """Sort key putting literal segments before templated ones, so that routers which
    match in document order never let ``/call/{id}`` shadow ``/call/list``."""
    return tuple((seg.startswith("{"), seg) for seg in path.strip("/").split("/"))


def merge(mounts: list[Mount], info: dict[str, Any], servers: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the mounted documents into one OpenAPI 3.0.3 document.

    Raises :class:`MergeError` on collisions (naming both sources), dangling refs and
    undeclared security schemes.
    """
    paths: dict[str, Any] = {}
    path_owner: dict[tuple[str, str], str] = {}
    template_owner: dict[str, tuple[str, str]] = {}
    op_owner: dict[str, str] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    for mount in mounts:
        check_refs(mount.document, mount.name)
        check_security(mount.document, mount.name)
        seen_ids: dict[str, str] = {}
        for path, method, op in operations(mount.document):
            op_id = op.get("operationId")
            if not op_id:
                raise MergeError(f"{mount.name}: {method.upper()} {path} has no operationId")
            if op_id in seen_ids:
                raise MergeError(
                    f"operationId collision: {op_id!r} in {mount.name} at {seen_ids[op_id]} and {method.upper()} {path}"
                )
            seen_ids[op_id] = f"{method.upper()} {path}"
        fragment = namespaced(mount)
        for path, item in fragment["paths"].items():
            template = re.sub(r"\{[^}]+\}", "{}", path)
            # OAS 3.0.3: templated paths with the same hierarchy but different parameter
            # names MUST NOT coexist, whatever their methods.
            owner_name, owner_path = template_owner.setdefault(template, (mount.name, path))
            if owner_path != path:
                raise MergeError(
                    f"path collision: {path} from {mount.name} is equivalent to {owner_path} from {owner_name}"
                )
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                owner = path_owner.get((template, method))
                if owner:
                    raise MergeError(f"path collision: {method.upper()} {path} is served by both {owner} "
                                     f"and {mount.name}")
                path_owner[(template, method)] = mount.name
                op_id = item[method]["operationId"]
                if op_id in op_owner:
                    raise MergeError(f"operationId collision: {op_id!r} in both {op_owner[op_id]} and {mount.name}")
                op_owner[op_id] = mount.name
            if path in paths:
                paths[path].update(item)
            else:
                paths[path] = item
        for kind, entries in fragment["components"].items():
            bucket = components.setdefault(kind, {})
            for name, value in entries.items():
                if name in bucket:
                    raise MergeError(f"component collision: {kind}/{name} from {mount.name}")
                bucket[name] = value
        tags.extend(fragment["tags"])
    merged = {
        "openapi": "3.0.3",
        "info": info,
        "servers": servers,
        "tags": tags,
        "paths": {p: paths[p] for p in sorted(paths, key=_path_key)},
        "components": {kind: dict(sorted(components[kind].items())) for kind in COMPONENT_KINDS if kind in components},
    }
    check_refs(merged, "merged document")
    check_security(merged, "merged document")
    return merged
