"""The typed-handler rule (ARCHITECTURE.md), checked per API by ``tests/handlers/<api>/test_typed.py``.

For every built, non-WebSocket operation of an API:

- a JSON-only request body arrives as a generated model of that API: the handler's ``body``
  parameter is annotated with a class from ``generated.models.<api>``;
- the handler's return annotation names only generated models of that API,
  :class:`handlers.results.Reply`, or a Starlette ``Response`` (audio, SDP, event streams).
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from gateway.binding import body_model
from gateway.contract import Contract
from gateway.resolver import OperationResolver
from handlers.results import Reply

CONTRACT = Contract()
RESOLVER = OperationResolver(CONTRACT)


def operations(namespace: str) -> list[str]:
    """operationIds of ``namespace`` that are built and are not WebSockets."""
    api = CONTRACT.apis[namespace]
    sockets = set(CONTRACT.websocket_operations().values())
    return [op["operationId"] for _, _, op in CONTRACT.operations()
            if op["operationId"].startswith(namespace + ".") and op["operationId"] not in sockets
            and api.aliases.get(op["operationId"].split(".", 1)[1], op["operationId"].split(".", 1)[1])
            not in api.pending]


def _operation(operation_id: str) -> dict[str, Any]:
    for _, _, op in CONTRACT.operations():
        if op["operationId"] == operation_id:
            return op
    raise KeyError(operation_id)


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    return [annotation]


def assert_typed(operation_id: str, models_module: str) -> None:
    """Fail with a sentence naming what is untyped in ``operation_id``'s handler."""
    function = RESOLVER.lookup(operation_id)
    assert function is not None, f"{operation_id}: no handler"
    op = _operation(operation_id)
    content = (op.get("requestBody") or {}).get("content", {})
    if set(content) == {"application/json"}:
        assert "body" in inspect.signature(function).parameters, f"{operation_id}: the JSON body never reaches it"
        model = body_model(function)
        assert model is not None, f"{operation_id}: `body` is not annotated with a generated request model"
        assert model.__module__ == models_module, f"{operation_id}: body model {model} is not from {models_module}"
    hints = typing.get_type_hints(function)
    assert "return" in hints, f"{operation_id}: no return annotation"
    for member in _members(hints["return"]):
        ok = member is Reply or (isinstance(member, type) and issubclass(member, Response)) or (
            isinstance(member, type) and issubclass(member, BaseModel) and member.__module__ == models_module)
        assert ok, f"{operation_id}: returns {member!r}, not a generated model, Reply or Response"
