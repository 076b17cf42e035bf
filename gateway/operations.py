"""Every operation of the merged contract compiled once: what the request pipeline needs per call.

:func:`compile_operations` walks the contract and, per operation, resolves ``$ref``s and
compiles: its parameters (:mod:`gateway.parameters`), its security requirement with the plugin's
functions (:mod:`gateway.security`), its request body per media type (kind, validator, which
form properties are files), its responses per status and media type (validators), and how its
handler is called (which argument names it takes).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.contract import ApiInfo, Contract
from gateway.parameters import Parameter
from gateway.schemas import SchemaSet, Validator
from gateway.security import Requirement, Scheme
from handlers.plugin import ApiPlugin

JSON, FORM, MULTIPART, RAW = "json", "form", "multipart", "raw"


def media_kind(media_type: str) -> str:
    """``json`` for ``application/json`` and ``*/*+json``, ``form``, ``multipart``, else ``raw``."""
    if media_type == "application/json" or media_type.endswith("+json"):
        return JSON
    if media_type == "application/x-www-form-urlencoded":
        return FORM
    if media_type.startswith("multipart/"):
        return MULTIPART
    return RAW


def _is_file(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "string" and schema.get("format") in ("binary", "base64")


@dataclass(frozen=True, slots=True)
class BodyMedia:
    """One media type of a request body."""

    media_type: str
    kind: str
    schema: dict[str, Any]
    validator: Validator
    properties: dict[str, dict[str, Any]]
    files: dict[str, bool]
    default: Any


@dataclass(frozen=True, slots=True)
class RequestBody:
    """A request body: required or not, its media types, the handler argument it goes to."""

    required: bool
    media: dict[str, BodyMedia]
    argument: str

    def select(self, content_type: str | None) -> BodyMedia | None:
        """The declared media type a request's ``Content-Type`` names (parameters ignored);
        without a ``Content-Type``, the only JSON media type if there is one. None: 415."""
        if content_type is None:
            json_media = [m for m in self.media.values() if m.kind == JSON]
            return json_media[0] if len(json_media) == 1 else None
        media_type = content_type.split(";", 1)[0].strip().lower()
        found = self.media.get(media_type)
        if found is None:
            major = media_type.split("/", 1)[0]
            found = self.media.get(f"{major}/*") or self.media.get("*/*")
        return found


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """The media types one response status declares (validator None: not a JSON body)."""

    media: dict[str, Validator | None]


@dataclass(slots=True)
class Operation:
    """One compiled operation."""

    operation_id: str
    api: ApiInfo
    plugin: ApiPlugin[Any]
    method: str
    template: str
    handler: Callable[..., Awaitable[Any]]
    arguments: frozenset[str]
    has_kwargs: bool
    parameters: tuple[Parameter, ...]
    security: Requirement
    body: RequestBody | None
    responses: dict[str, ResponseSpec] = field(default_factory=dict)

    def response_spec(self, status: int) -> ResponseSpec | None:
        """The declared response for ``status``: exact, ``4XX``-style, or ``default``."""
        return (self.responses.get(str(status)) or self.responses.get(f"{str(status)[0]}XX")
                or self.responses.get("default"))


class _Resolver:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def __call__(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and not node["$ref"].startswith("#/components/schemas/"):
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node, seen = target, seen + 1
            if seen > 32:
                raise ValueError(f"$ref cycle at {node}")
        return node


def _signature(function: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    parameters = inspect.signature(function).parameters.values()
    names = frozenset(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, any(p.kind == p.VAR_KEYWORD for p in parameters)


def compile_operations(contract: Contract, plugins: Mapping[str, ApiPlugin[Any]], schemas: SchemaSet,
                       handler_for: Callable[[str], Callable[..., Awaitable[Any]]]) -> list[Operation]:
    """Every HTTP operation of ``contract``, compiled; ``handler_for(operationId)`` gives the
    (bound) handler function."""
    document = contract.document
    resolve = _Resolver(document)
    scheme_specs = document.get("components", {}).get("securitySchemes", {})
    default_security = document.get("security", [])
    compiled: list[Operation] = []
    for path, item in document["paths"].items():
        shared_parameters = [resolve(p) for p in item.get("parameters", [])]
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            op = item.get(method)
            if op is None:
                continue
            operation_id = op["operationId"]
            api, _local = contract.split(operation_id)
            plugin = plugins[api.namespace]
            declared = {(p["in"], p["name"]): p for p in shared_parameters}
            declared.update({(p["in"], p["name"]): p for p in (resolve(q) for q in op.get("parameters", []))})
            parameters = tuple(Parameter.compile(p, schemas) for p in declared.values()
                               if p["in"] in ("path", "query", "header"))
            alternatives = []
            for requirement in op.get("security", default_security):
                schemes = []
                for name in requirement:
                    local = name.split(".", 1)[1]
                    function = plugin.security.get(local)
                    if function is None:
                        from gateway import fallback_security

                        kind = scheme_specs[name].get("scheme") or scheme_specs[name].get("type")
                        function = {"bearer": fallback_security.any_bearer, "basic": fallback_security.any_basic
                                    }.get(str(kind).lower(), fallback_security.any_api_key)
                    schemes.append(Scheme.compile(name, scheme_specs[name], function))
                alternatives.append(tuple(schemes))
            handler = handler_for(operation_id)
            arguments, has_kwargs = _signature(handler)
            compiled.append(Operation(
                operation_id=operation_id, api=api, plugin=plugin, method=method.upper(), template=path,
                handler=handler, arguments=arguments, has_kwargs=has_kwargs, parameters=parameters,
                security=Requirement(tuple(alternatives)), body=_body(op, resolve, schemas),
                responses=_responses(op, resolve, schemas)))
    return compiled


def _body(op: Mapping[str, Any], resolve: _Resolver, schemas: SchemaSet) -> RequestBody | None:
    spec = resolve(op.get("requestBody"))
    if not spec:
        return None
    media: dict[str, BodyMedia] = {}
    for media_type, content in (spec.get("content") or {}).items():
        schema = dict(content.get("schema") or {})
        inline = resolve_schema(schema, schemas_doc=resolve.document)
        properties = dict(inline.get("properties") or {})
        files = {name: _is_file(prop.get("items", {})) for name, prop in properties.items()
                 if _is_file(prop) or _is_file(prop.get("items", {}))}
        media[media_type.lower()] = BodyMedia(media_type.lower(), media_kind(media_type.lower()), schema,
                                              schemas.validator(schema), properties, files, inline.get("default"))
    body_name = spec.get("x-body-name") or "body"
    return RequestBody(bool(spec.get("required")), media, body_name)


def resolve_schema(schema: Mapping[str, Any], *, schemas_doc: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` (and single-branch ``allOf``) followed, to read its
    ``properties`` and ``default``."""
    current: Any = schema
    for _ in range(32):
        if isinstance(current, dict) and "$ref" in current:
            name = current["$ref"].rsplit("/", 1)[-1]
            current = schemas_doc.get("components", {}).get("schemas", {}).get(name, {})
        elif isinstance(current, dict) and "properties" not in current and len(current.get("allOf", [])) == 1:
            current = current["allOf"][0]
        else:
            break
    return dict(current) if isinstance(current, dict) else {}


def _responses(op: Mapping[str, Any], resolve: _Resolver, schemas: SchemaSet) -> dict[str, ResponseSpec]:
    out: dict[str, ResponseSpec] = {}
    for status, response in (op.get("responses") or {}).items():
        response = resolve(response)
        media: dict[str, Validator | None] = {}
        for media_type, content in (response.get("content") or {}).items():
            schema = content.get("schema")
            kind = media_kind(media_type.lower())
            media[media_type.lower()] = schemas.validator(schema) if (kind == JSON and schema) else None
        out[str(status).upper()] = ResponseSpec(media)
    return out
