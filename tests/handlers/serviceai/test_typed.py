"""Every ServiceAi handler takes its JSON body as a generated model and returns a generated
model, a ``Reply`` or a Starlette ``Response`` (the typed-handler rule, tests/handlers/typed.py)."""

from __future__ import annotations

import pytest

from tests.handlers.typed import assert_typed, operations

OPERATIONS = operations("serviceai")


def test_all_seven_operations_are_checked() -> None:
    assert len(OPERATIONS) == 7


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_handler_is_typed(operation_id: str) -> None:
    assert_typed(operation_id, "generated.models.serviceai")
