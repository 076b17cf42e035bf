"""What a handler returns: a generated response model, or a :class:`Reply` carrying status and headers.

``return SessionResponse(...)`` answers 200 with the model as JSON; ``return Reply(model, 201,
{"Location": …})`` sets the status and headers. A Starlette ``Response`` (audio, SDP, event
streams) is passed through unchanged. The gateway turns a model into JSON with :func:`dump`
and always names the media type, so operations whose responses offer several media types
never leave the choice to guesswork.
"""

from __future__ import annotations

import functools
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


def dump(content: BaseModel | Sequence[BaseModel]) -> Any:
    """A model (or a list of models) as JSON data, by alias; an optional field that is None is
    omitted, a required nullable one is written as ``null``."""
    if isinstance(content, BaseModel):
        return _prune(content, content.model_dump(mode="json", by_alias=True, warnings=False))
    return [dump(item) for item in content]
