"""The interface (adapters/providers/llm/base.py): the protocol, messages, errors, schema checks."""

from __future__ import annotations

import httpx
import pytest

from adapters.providers.base import ProviderError
from adapters.providers.llm import (
    ChatMessage,
    LanguageModel,
    LLMError,
    OfflineLanguageModel,
    OpenAICompatibleLanguageModel,
)
from tests.adapters.providers.llm.helpers import BASE, KEY


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.method} {request.url}")


def test_both_engines_satisfy_the_protocol_and_say_what_they_are():
    offline = OfflineLanguageModel()
    online = OpenAICompatibleLanguageModel(BASE, KEY, "gpt-4o-mini", transport=httpx.MockTransport(lambda r: None))
    assert isinstance(offline, LanguageModel) and isinstance(online, LanguageModel)
    assert (offline.name, online.name) == ("offline-template", "openai-compatible")
    assert offline.generative is False and online.generative is True
    assert {"offline", "deterministic", "retrieval_chat", "schema_extraction"} <= offline.capabilities
    assert "not" in (OfflineLanguageModel.__doc__ or "").lower()  # the docstring disclaims generation
    assert issubclass(LLMError, ProviderError)


def test_chat_message_is_frozen():
    message = ChatMessage("user", "hi")
    with pytest.raises(AttributeError):
        message.content = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"type": "array", "items": {}}, {"type": "object", "properties": {"a": {"type": 5}}}, []],
)
async def test_extract_rejects_non_object_or_invalid_schemas(schema):
    with pytest.raises(ValueError):
        await OfflineLanguageModel().extract("text", schema)
    with pytest.raises(ValueError):
        await OpenAICompatibleLanguageModel(BASE, KEY, "m", transport=httpx.MockTransport(_no_request)).extract(
            "text", schema
        )
