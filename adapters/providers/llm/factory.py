"""``language_model``: the engine the ``LLM_*`` settings ask for."""

from __future__ import annotations

import httpx

from adapters.providers.cloud._http import DEFAULT_TIMEOUT
from adapters.providers.llm.base import LanguageModel
from adapters.providers.llm.offline import OfflineLanguageModel
from adapters.providers.llm.openai_compatible import DEFAULT_MODEL, OpenAICompatibleLanguageModel


def language_model(
    base_url: str | None,
    api_key: str | None,
    model: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LanguageModel:
    """OpenAICompatibleLanguageModel when ``base_url`` is set (``model`` defaults to
    ``gpt-4o-mini``; ``timeout`` in seconds per request), else OfflineLanguageModel (blank
    ``base_url`` counts as unset). Nothing is sent until a method is awaited. ValueError when
    ``base_url`` is set but not an http(s) URL."""
    if base_url and base_url.strip():
        return OpenAICompatibleLanguageModel(
            base_url, api_key, model or DEFAULT_MODEL, timeout=timeout, transport=transport
        )
    return OfflineLanguageModel()
