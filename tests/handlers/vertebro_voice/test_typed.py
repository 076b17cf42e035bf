"""The typed-handler rule for SiteLLM Vertebro Voice: every built HTTP operation takes its JSON body
as a generated model and answers generated models, ``Reply`` or a Starlette ``Response``."""

from __future__ import annotations

import pytest

from tests.handlers.typed import assert_typed, operations

OPERATIONS = operations("vertebro")


def test_every_http_operation_is_checked() -> None:
    assert len(OPERATIONS) == 16  # 17 operations, the WebSocket excluded


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_handler_is_typed(operation_id: str) -> None:
    assert_typed(operation_id, "generated.models.vertebro_voice")
