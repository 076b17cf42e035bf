"""What a handler returns: a generated response model, or a :class:`Reply` carrying status and headers.

``return SessionResponse(...)`` answers 200 with the model as JSON; ``return Reply(model, 201,
{"Location": …})`` sets the status and headers. A Starlette ``Response`` (audio, SDP, event
streams) is passed through unchanged. The gateway turns a model into JSON with :func:`dump`
and always names the media type, so operations whose responses offer several media types
never leave the choice to guesswork.
"""

from __future__ import annotations

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


def _prune(model: BaseModel, data: Any) -> Any:
    """Drop the optional fields ``model`` leaves None from its dumped ``data``, at every level."""
    if isinstance(model, RootModel):
        return _prune_value(model.root, data)
    if not isinstance(data, dict):
        return data
    for name, info in type(model).model_fields.items():
        key = info.serialization_alias or info.alias or name
        if key not in data:
            continue
        value = model.__dict__.get(name)  # not getattr: no DeprecationWarning for deprecated aliases
        if value is None:
            if not info.is_required():
                del data[key]
        else:
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
