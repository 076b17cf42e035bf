"""Typed operations: the glue between the pipeline's calling convention and a handler function.

:func:`bind` wraps a handler so that

- a ``body`` parameter annotated with a generated pydantic model receives that model, parsed
  from the JSON the pipeline already validated (or, handed over as raw bytes, from those; an
  empty body is ``{}``) (a failure — a ``format`` the JSON Schema check
  leaves out, say — is the API's validation error, never a 500);
- whatever it returns becomes a Starlette ``Response`` whose media type is always named: a
  generated model or :class:`~handlers.results.Reply` is dumped with
  :func:`handlers.results.dump`; a plain ``dict``/``list`` body, or a ``(body, status[,
  headers])`` tuple, is JSON; a ``Response`` passes through.

The wrapper keeps the handler's signature (``functools.wraps``), so the pipeline
(:mod:`gateway.operations`) reads from it which arguments the handler takes.
"""

from __future__ import annotations

import functools
import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from starlette.responses import Response

from core.jsontext import JSONRejected
from core.jsontext import loads as strict_json
from handlers.errors import ApiError, parse_request
from handlers.results import Reply, dump


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a ``body`` annotation (``Model`` or ``Model | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def body_model(function: Callable[..., Any]) -> type[BaseModel] | None:
    """The generated request model ``function`` wants as ``body``, or None."""
    if "body" not in inspect.signature(function).parameters:
        return None
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):
        return None
    return _model_of(hints.get("body"))


def json_bytes(data: Any) -> bytes:
    """``data`` (JSON data: dicts, lists, strings, numbers, booleans, None) as compact UTF-8 JSON,
    written by pydantic-core's serializer (~5x faster than ``json.dumps`` on a 10-kB body). The
    text is what ``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` writes except for
    the spelling of some floats (``0.00001`` for ``1e-05``: the same number). ``NaN``/``Infinity``
    are refused (ValueError: they are not JSON), as by ``json.dumps(..., allow_nan=False)``."""
    body = to_json(data, inf_nan_mode="constants")
    if b"NaN" in body or b"Infinity" in body:  # a float that is not JSON, or just those letters in a string
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return body


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    """``data`` as a JSON response (UTF-8; ``NaN``/``Infinity`` refused: they are not JSON)."""
    body = json_bytes(data)
    response = Response(body, status_code=status, headers=dict(headers or {}), media_type=media_type)
    response.json_data = data  # type: ignore[attr-defined]  # what response validation checks, unparsed
    return response


def to_response(result: Any) -> Response:
    """A handler's result as a Starlette response (see the module docstring for the forms)."""
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        if result.content is None:
            return Response(status_code=result.status, headers=dict(result.headers))
        return json_response(dump(result.content), result.status, result.headers, result.media_type)
    if isinstance(result, BaseModel):
        return json_response(dump(result))
    if isinstance(result, tuple):
        body, status, *rest = result
        headers = rest[0] if rest else None
        if isinstance(body, BaseModel):
            body = dump(body)
        if body is None:
            return Response(status_code=status, headers=dict(headers or {}))
        return json_response(body, status, headers)
    if result is None:
        return Response(status_code=204)
    return json_response(result)


def _json_value(body: Any) -> Any:
    """A body handed over raw (bytes or text) parsed as strict JSON."""
    if isinstance(body, (bytes, bytearray, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
        if not text.strip():
            return {}
        try:
            return strict_json(text)
        except JSONRejected as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"Request body is not strict JSON: {exc.reason}") from None
    return body


def bind(function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Response]]:
    """``function`` wrapped as described in the module docstring."""
    model = body_model(function)

    @functools.wraps(function)
    async def operation(*args: Any, **kwargs: Any) -> Response:
        if model is not None and kwargs.get("body") is not None:
            kwargs["body"] = parse_request(model, _json_value(kwargs["body"]))
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return to_response(result)

    return operation
