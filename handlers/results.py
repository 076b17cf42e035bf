"""What a handler returns: a generated response model, or a :class:`Reply` carrying status and headers.

``return SessionResponse(...)`` answers 200 with the model as JSON; ``return Reply(model, 201,
{"Location": …})`` sets the status and headers. A Starlette ``Response`` (audio, SDP, event
streams) is passed through unchanged. The gateway turns a model into JSON with :func:`dump`
and always names the media type, so operations whose responses offer several media types
never leave the choice to guesswork.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, RootModel


@dataclass(frozen=True, slots=True)
class Reply:
    """A response: ``content`` (a generated model, a list of models, or None for no body),
    HTTP ``status``, extra ``headers`` and the ``media_type`` of the body."""

    content: BaseModel | Sequence[BaseModel] | None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


def _holds_model(annotation: Any) -> bool:
    """True when a value of type ``annotation`` may contain a pydantic model (at any depth):
    a model class, ``Any``/``object`` or a type parameter (anything may be in there), or a
    generic whose arguments may. False for plain data types (str, numbers, enums, datetimes and
    containers of them), whose dumped form has nothing to prune."""
    if annotation is Any or annotation is object or isinstance(annotation, typing.TypeVar):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


@functools.cache
def _fields(model_class: type[BaseModel]) -> tuple[tuple[str, str, bool, bool], ...]:
    """``(attribute name, dumped key, required, may hold a model)`` of each field of
    ``model_class`` (computed once per class)."""
    return tuple((name, info.serialization_alias or info.alias or name, info.is_required(),
                  _holds_model(info.annotation))
                 for name, info in model_class.model_fields.items())


def _prune(model: BaseModel, data: Any) -> Any:
    """Drop the optional fields ``model`` leaves None from its dumped ``data``, at every level."""
    if isinstance(model, RootModel):
        return _prune_value(model.root, data)
    if not isinstance(data, dict):
        return data
    values = model.__dict__  # not getattr: no DeprecationWarning for deprecated aliases
    for name, key, required, holds_model in _fields(type(model)):
        if key not in data:
            continue
        value = values.get(name)
        if value is None:
            if not required:
                del data[key]
        elif holds_model:  # plain data (str, numbers, dict[str, Any]…) is dumped as is: nothing to prune
            data[key] = _prune_value(value, data[key])
    return data


def _prune_value(value: Any, data: Any) -> Any:
    if isinstance(value, BaseModel):
        return _prune(value, data)
    if isinstance(value, (list, tuple)) and isinstance(data, list):
        return [_prune_value(v, d) for v, d in zip(value, data, strict=True)]
    if isinstance(value, dict) and isinstance(data, dict):
        return {k: _prune_value(value[k], d) if k in value else d for k, d in data.items()}
    return data


#: Tests set this: every fast dump (:func:`_prunes_like_exclude_none`) is then checked against the
#: field-by-field pruning. The fast path relies on free-form values (``Any``, ``dict[str, Any]``)
#: holding JSON data, never models (whose required nullable fields exclude_none would drop).
VERIFY_FAST_DUMP = False


def _admits_none(annotation: Any) -> bool:
    """True when a value of type ``annotation`` may itself be None (``T | None``, ``Any``, …)."""
    if annotation is None or annotation is type(None) or annotation is Any or annotation is object \
            or isinstance(annotation, typing.TypeVar):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_admits_none(arg) for arg in typing.get_args(annotation))
    return False


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The model classes a value of type ``annotation`` may hold (at any depth of its generics)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _nested_models(arg)]


@functools.cache
def _prunes_like_exclude_none(model_class: type[BaseModel]) -> bool:
    """True when no field of ``model_class``, nor of any model it may hold, is required and
    nullable. Then "omit the optional fields left None" (:func:`_prune`) is exactly pydantic's own
    ``exclude_none``, done inside its serializer instead of a walk over the dumped data in Python."""
    pending, seen = [model_class], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        root = issubclass(current, RootModel)  # its value is never omitted, whichever way: look inside
        for info in current.model_fields.values():
            if info.is_required() and not root and _admits_none(info.annotation):
                return False
            if not isinstance(info.annotation, type) or issubclass(info.annotation, BaseModel):
                pending.extend(_nested_models(info.annotation))
    return True


def dump(content: BaseModel | Sequence[BaseModel]) -> Any:
    """A model (or a list of models) as JSON data, by alias; an optional field that is None is
    omitted, a required nullable one is written as ``null``."""
    if isinstance(content, BaseModel):
        if _prunes_like_exclude_none(type(content)):
            data = content.model_dump(mode="json", by_alias=True, exclude_none=True, warnings=False)
            if VERIFY_FAST_DUMP:
                exact = _prune(content, content.model_dump(mode="json", by_alias=True, warnings=False))
                if data != exact:
                    raise AssertionError(f"dump of {type(content).__name__}: exclude_none gave {data!r}, the "
                                         f"field-by-field pruning {exact!r} (a model inside a free-form value?)")
            return data
        return _prune(content, content.model_dump(mode="json", by_alias=True, warnings=False))
    return [dump(item) for item in content]
