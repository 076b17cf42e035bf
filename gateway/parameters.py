"""Path, query and header parameters of one operation: coerced from their text and validated.

Each declared parameter is compiled once (:class:`Parameter`): its text is converted by its
schema's ``type`` (``integer``, ``number``, ``boolean``; strings stay strings), its schema's
``default`` fills an absent optional query parameter, and the value is validated against the
schema (pattern, enum, bounds, format). Undeclared query parameters are ignored. Path and query
values reach the handler under their pythonic names (``sessionId`` → ``session_id``, ``id`` →
``id_``); header parameters are validated only.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.schemas import SchemaSet, Validator


class ParameterError(ValueError):
    """A parameter breaks the contract: ``location`` (``path``/``query``/``header``), ``name``,
    ``message``."""

    def __init__(self, location: str, name: str, message: str) -> None:
        super().__init__(f"{location} parameter {name!r}: {message}")
        self.location, self.name, self.message = location, name, message


def pythonic(name: str) -> str:
    """``sessionId`` → ``session_id``; a Python keyword or builtin gets a trailing ``_``
    (``id`` → ``id_``), as connexion's ``pythonic_params`` does."""
    snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    snake = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", snake).replace("-", "_").lower()
    if snake in builtins.__dict__ or keyword.iskeyword(snake):
        snake += "_"
    return re.sub(r"^[^a-zA-Z_]+", "", re.sub(r"[^0-9a-zA-Z_]", "", snake))


# A boolean's text is ``true`` or ``false`` (OpenAPI's serialization; any case, so Python's
# ``True`` passes): ``1``/``0`` are integers, and schemathesis counts accepting them as accepting
# a schema-violating request (found on a multipart ``include_words`` of transcribeAudio).
_TRUE, _FALSE = frozenset({"true"}), frozenset({"false"})
# ASCII digits only, no spaces or underscores: int()/float() also take "１", " 1", "1_0", "nan".
# An integer schema without bounds takes any integer up to what a JSON body may carry (core.jsontext:
# within a 64-bit float's range, 309 digits); schemathesis sent a 31-digit limit a 30-digit cap refused.
_INTEGER = re.compile(r"[+-]?[0-9]{1,309}")
_INTEGER_LIMIT = 2**1024
_NUMBER = re.compile(r"[+-]?([0-9]{1,300}(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")


def coerce(text: str, kind: str | None) -> Any:
    """``text`` as the schema type ``kind``: integers and numbers in ASCII decimal notation (no
    spaces, underscores, other scripts' digits, ``nan`` or ``inf``), booleans ``true``/``false``
    (any case); anything else stays a string. Raises ValueError when it is not one."""
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"{text!r} is not an integer")
        integer = int(text)
        if abs(integer) >= _INTEGER_LIMIT:
            raise ValueError(f"{text[:40]}… is outside the range of a 64-bit float")
        return integer
    if kind == "number":
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{text!r} is not a number")
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean")
    return text


@dataclass(frozen=True, slots=True)
class Parameter:
    """One declared parameter, compiled."""

    name: str
    location: str
    required: bool
    kind: str | None
    default: Any
    has_default: bool
    validator: Validator
    argument: str

    @classmethod
    def compile(cls, spec: Mapping[str, Any], schemas: SchemaSet) -> Parameter:
        """From an OpenAPI Parameter Object (``$ref``s already resolved)."""
        schema = dict(spec.get("schema") or {})
        kind = schema.get("type")
        if kind is None and "$ref" in schema:
            kind = None
        return cls(name=spec["name"], location=spec["in"], required=bool(spec.get("required")), kind=kind,
                   default=schema.get("default"), has_default="default" in schema,
                   validator=schemas.validator(schema), argument=pythonic(spec["name"]))

    def value(self, text: str) -> Any:
        """The validated value of ``text``; raises :class:`ParameterError`."""
        try:
            value = coerce(text, self.kind)
        except ValueError as exc:
            raise ParameterError(self.location, self.name, str(exc)) from None
        findings = self.validator.findings(value, limit=1)
        if findings:
            raise ParameterError(self.location, self.name, findings[0].message)
        return value


def read_parameters(parameters: tuple[Parameter, ...], path_params: Mapping[str, str],
                    query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
    """Handler arguments from the request's parameters (path and query; headers validated only).

    Raises :class:`ParameterError` for a missing required parameter or an invalid value.
    """
    arguments: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.location == "path":
            text: str | None = path_params.get(parameter.name)
        elif parameter.location == "query":
            text = query.get(parameter.name)
        elif parameter.location == "header":
            text = headers.get(parameter.name.lower())
        else:
            continue
        if text is None:
            if parameter.required:
                raise ParameterError(parameter.location, parameter.name, "is required")
            if parameter.location == "query" and parameter.has_default:
                arguments[parameter.argument] = parameter.default
            continue
        value = parameter.value(text)
        if parameter.location != "header":
            arguments[parameter.argument] = value
    return arguments
