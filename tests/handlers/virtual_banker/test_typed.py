"""Every built Virtual Banker operation (but the WebSocket) is typed with its generated models."""

from __future__ import annotations

import pytest

from tests.handlers.typed import assert_typed, operations


@pytest.mark.parametrize("operation_id", operations("vb"))
def test_handler_is_typed(operation_id):
    assert_typed(operation_id, "generated.models.virtual_banker")


def test_every_operation_is_checked():
    # 17 operations + the getHealthAtRoot alias, without the webrtcSignaling WebSocket
    assert len(operations("vb")) == 17
