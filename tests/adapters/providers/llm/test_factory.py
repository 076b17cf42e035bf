"""language_model (adapters/providers/llm/factory.py): the engine the LLM_* settings ask for."""

from __future__ import annotations

from adapters.providers.llm import OfflineLanguageModel, OpenAICompatibleLanguageModel, language_model
from tests.adapters.providers.llm.helpers import BASE, KEY


def test_factory_picks_the_engine_from_settings():
    assert isinstance(language_model(None, None, None), OfflineLanguageModel)
    assert isinstance(language_model("  ", "k", "m"), OfflineLanguageModel)
    model = language_model(BASE + "/", KEY, None)
    assert isinstance(model, OpenAICompatibleLanguageModel)
    assert model.model == "gpt-4o-mini" and model.base_url == BASE
    assert language_model(BASE, None, "llama3").model == "llama3"
