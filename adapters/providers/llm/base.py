"""The language-model interface: messages, errors, the protocol, argument and JSON Schema checks.

Both engines (:mod:`.openai_compatible`, :mod:`.offline`) build on this module; it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from adapters.providers.base import ProviderError

if TYPE_CHECKING:  # jsonschema is imported when a schema is first checked (~40 ms of start-up)
    from jsonschema.protocols import Validator

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatMessage:
    """One conversation turn: ``role`` is ``system``, ``user`` or ``assistant``; ``content`` is text."""

    role: str
    content: str


class LLMError(ProviderError):
    """The language model failed (not the caller's fault).

    ``status`` is the vendor's HTTP status when it answered >= 400 (else None);
    ``retry_after`` the seconds it asked to wait, when it said so.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@runtime_checkable
class LanguageModel(Protocol):
    """A chat/extraction engine. See :mod:`adapters.providers.llm` for shapes, units and errors."""

    name: str

    async def chat(self, messages: list[ChatMessage], *, max_tokens: int = 400, temperature: float = 0.3) -> str:
        """The assistant's next reply to ``messages``; raises LLMError or ValueError."""
        ...

    async def extract(self, text: str, schema: dict, *, instructions: str = "") -> dict:
        """An object valid against ``schema`` with every property filled; raises LLMError or ValueError."""
        ...


def _coerce_messages(messages: Iterable[Any]) -> list[ChatMessage]:
    """ChatMessage objects (or ``{"role", "content"}`` mappings) checked for role and content.

    ValueError for an empty list, an unknown role, non-string content or another type of item."""
    out: list[ChatMessage] = []
    role: Any
    content: Any
    for message in messages:
        if isinstance(message, ChatMessage):
            role, content = message.role, message.content
        elif isinstance(message, Mapping):
            role, content = message.get("role"), message.get("content")
        else:
            raise ValueError(f"a chat message must be a ChatMessage, not {type(message).__name__}")
        if role not in ROLES:
            raise ValueError(f"unknown chat role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"chat message content must be a string, not {type(content).__name__}")
        out.append(ChatMessage(role, content))
    if not out:
        raise ValueError("chat needs at least one message")
    return out


def _check_generation(max_tokens: int, temperature: float) -> None:
    """ValueError unless ``max_tokens`` is an int >= 1 and ``temperature`` a number in 0.0-2.0."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("max_tokens must be an integer >= 1")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0.0 <= temperature <= 2.0:
        raise ValueError("temperature must be a number from 0.0 to 2.0")


# ==== JSON Schema helpers ================================================================

_DEF_KEYS = ("$defs", "definitions", "components")


def _validator_class(schema: Mapping[str, Any]) -> type[Validator]:
    import jsonschema

    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def _check_schema(schema: Any) -> Validator:
    """The validator for ``schema``; ValueError when it is not an object schema with properties."""
    if not isinstance(schema, Mapping):
        raise ValueError("schema must be a JSON Schema object (a dict)")
    from jsonschema.exceptions import SchemaError

    cls = _validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    root = _Schemas(schema).resolve(schema)
    types = root.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if not (is_object or (types is None and "properties" in root)):
        raise ValueError("schema root must be an object schema (type: object with properties)")
    return cls(schema)


def _schema_errors(validator: Validator, value: Any, limit: int = 5) -> list[tuple[str, str]]:
    """Up to ``limit`` validation errors of ``value`` as ``(path, message)``, ordered by path (``a/b/0``,
    ``(root)`` for the value itself) so the same value always gives the same errors; [] when valid."""
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]
    return [("/".join(str(p) for p in e.absolute_path) or "(root)", e.message) for e in errors]


def _declared_only(value: Any, schema: Any, schemas: _Schemas, path: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    """``value`` restricted to the declared keys, and the paths (``a/b``) of declared keys it lacks.

    In an object whose (resolved) schema has ``properties``, the declared keys are those
    properties and the ``required`` keys; others are dropped, and each value is checked against
    its own sub-schema, down through nested objects and ``items`` of arrays. Values under other
    schemas (``anyOf``/``oneOf`` branches, no ``properties``) are returned unchanged."""
    resolved = schemas.resolve(schema)
    properties = resolved.get("properties")
    if isinstance(value, dict) and isinstance(properties, Mapping):
        required = resolved.get("required")
        required = required if isinstance(required, list) else []
        out: dict[str, Any] = {}
        missing: list[str] = []
        for key in list(properties) + [k for k in required if k not in properties]:
            here = path + (str(key),)
            if key not in value:
                missing.append("/".join(here))
                continue
            sub = properties[key] if key in properties else resolved.get("additionalProperties", {})
            out[key], deeper = _declared_only(value[key], sub, schemas, here)
            missing += deeper
        return out, missing
    items = resolved.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        checked = [_declared_only(item, items, schemas, path + (str(i),)) for i, item in enumerate(value)]
        return [item for item, _ in checked], [p for _, paths in checked for p in paths]
    return value, []


class _Schemas:
    """Resolves local ``$ref`` and ``allOf`` against the root schema; validates sub-values."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._cls = _validator_class(root)
        self._defs = {k: root[k] for k in _DEF_KEYS if k in root}

    def resolve(self, schema: Any, _depth: int = 0) -> dict[str, Any]:
        """``schema`` with a local ``$ref`` replaced by its target (siblings refine it) and ``allOf``
        merged (properties and required united); ``{}`` for ``true`` or a non-object."""
        if schema is True or not isinstance(schema, Mapping):
            return {}
        schema = dict(schema)
        if "$ref" in schema and _depth < 20:
            target = self._pointer(schema.pop("$ref"))
            refined = dict(self.resolve(target, _depth + 1))
            refined.update(schema)  # siblings of $ref (2019-09+) refine the target
            schema = refined
        if "allOf" in schema and _depth < 20:
            parts = [self.resolve(part, _depth + 1) for part in schema.pop("allOf") or []]
            merged: dict[str, Any] = {}
            for part in parts + [schema]:
                for key, value in part.items():
                    if key == "properties" and isinstance(value, Mapping):
                        merged.setdefault("properties", {}).update(value)
                    elif key == "required" and isinstance(value, list):
                        merged["required"] = list(dict.fromkeys(merged.get("required", []) + value))
                    else:
                        merged[key] = value
            schema = merged
        return schema

    def _pointer(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def valid(self, value: Any, schema: Any) -> bool:
        """Whether ``value`` is valid against ``schema`` (a sub-schema of the root)."""
        if isinstance(schema, Mapping):
            schema = {**self._defs, **schema}
        try:
            return self._cls(schema).is_valid(value)
        except Exception:  # noqa: BLE001 - an unresolvable $ref counts as invalid
            return False
