"""Every built Virstack operation takes its JSON body as a generated model and answers with a
generated envelope model (through ``Reply``) or a Starlette response (the WAV of the TTS operations)."""

from __future__ import annotations

import pytest

from tests.handlers.typed import assert_typed, operations


@pytest.mark.parametrize("operation_id", operations("virstack"))
def test_handler_is_typed(operation_id: str) -> None:
    assert_typed(operation_id, "generated.models.virstack_voiceai")


def test_every_operation_is_checked() -> None:
    assert len(operations("virstack")) == 53
