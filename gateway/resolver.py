"""Binds each operationId of the merged contract to a handler function.

``<ns>.createSession`` → ``<package>.create_session``: the namespace picks
the API's handler package (from ``generated/apis.json``), the local operationId is
converted to snake_case, and the function is wrapped by :func:`gateway.binding.bind`
(typed body, typed result). An operation listed as pending in ``specs/merge.yaml`` is
bound to a handler answering 501 in that API's envelope. A non-pending operation
whose function is missing is an error at start-up, never a silent 501.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from gateway.binding import bind
from gateway.contract import Contract
from handlers.errors import ApiError


def snake_case(operation_id: str) -> str:
    """``createSession`` → ``create_session``; ``getHealthAtRoot`` → ``get_health_at_root``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation_id).lower()


class UnboundOperation(LookupError):
    """A non-pending operationId has no handler function."""


def upgrade_required(operation_id: str) -> Callable[..., Any]:
    """The plain-HTTP side of a WebSocket operation: 426 (the handshake is routed elsewhere)."""

    async def handler(**_kwargs: Any) -> None:
        """A plain HTTP request to a WebSocket operation: 426 Upgrade Required."""
        raise ApiError(426, "UPGRADE_REQUIRED", f"{operation_id} is a WebSocket: connect with the Upgrade handshake",
                       headers={"Upgrade": "websocket", "Connection": "Upgrade"})

    handler.__name__ = f"upgrade_required_{snake_case(operation_id.split('.', 1)[1])}"
    return handler


def not_implemented(operation_id: str) -> Callable[..., Any]:
    """A handler answering 501 in the operation's API envelope."""

    async def handler(**_kwargs: Any) -> None:
        raise ApiError(501, "NOT_IMPLEMENTED", f"Operation {operation_id} is not implemented yet by this server.")

    handler.__name__ = f"not_implemented_{snake_case(operation_id.split('.', 1)[1])}"
    handler.pending = True  # type: ignore[attr-defined]
    return handler


class OperationResolver:
    """Binds operationIds to handler functions over the contract's API table."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def lookup(self, operation_id: str) -> Callable[..., Any] | None:
        """The implemented handler for ``operation_id``, or None if the package lacks it."""
        api, local = self.contract.split(operation_id)
        local = api.aliases.get(local, local)
        module = importlib.import_module(api.package)
        return getattr(module, snake_case(local), None)

    def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
        """The handler the pipeline calls for ``operation_id``: the bound function, a 501 handler
        for a pending operation, a 426 handler for the plain-HTTP side of a WebSocket operation.

        Raises :class:`UnboundOperation` when a non-pending operation has no function."""
        api, local = self.contract.split(operation_id)
        if api.aliases.get(local, local) in api.pending:
            return not_implemented(operation_id)
        function = self.lookup(operation_id)
        if function is None:
            raise UnboundOperation(f"{operation_id}: no function {snake_case(local)} in {api.package}")
        if operation_id in self.contract.websocket_operations().values():
            return upgrade_required(operation_id)
        return bind(function)

    def websocket_routes(self) -> list[tuple[str, Callable[..., Any]]]:
        """``(path, handler)`` for every implemented WebSocket operation (success ``101``).

        The handler is the API package's ``snake_case(operationId)`` function, called as
        ``handler(websocket, **path_params)`` with a Starlette WebSocket; it authenticates
        the handshake itself (the pipeline's security does not run for WebSockets).
        """
        routes = []
        for path, operation_id in self.contract.websocket_operations().items():
            api, local = self.contract.split(operation_id)
            if local in api.pending:
                continue
            function = self.lookup(operation_id)
            if function is None:
                raise UnboundOperation(f"{operation_id}: no function {snake_case(local)} in {api.package}")
            routes.append((path, function))
        return routes
