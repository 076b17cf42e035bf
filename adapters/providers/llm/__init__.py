"""Language models shared by the APIs: one interface, an OpenAI-compatible client, an offline engine.

Used for post-call analysis of transcripts (``extract``), a voice assistant's dialog replies and
the realtime voice loop (``chat``), and filler transcripts for TTS (``chat``).

Interface (:class:`LanguageModel`)
  ``chat(messages, *, max_tokens=400, temperature=0.3) -> str``
      The assistant's next reply to ``messages`` (a list of :class:`ChatMessage`; roles
      ``system``/``user``/``assistant``). ``max_tokens`` caps the reply length in tokens
      (>= 1); ``temperature`` is 0.0-2.0 (ignored by the offline engine).
  ``extract(text, schema, *, instructions="") -> dict``
      An object valid against the JSON Schema ``schema`` whose root is an object schema with
      ``properties``. EVERY declared property is present, at every level of nested objects
      (supported: ``type`` string/number/integer/boolean/array/object/null, ``enum``,
      ``const``, ``required``, ``properties``, ``items``, ``minimum``/``maximum`` and the
      exclusive forms, ``multipleOf``, ``minLength``/``maxLength``, ``minItems``/``maxItems``,
      ``uniqueItems``, local ``$ref``, ``allOf``/``anyOf``/``oneOf``). Undeclared keys are
      never returned.

Errors
  :class:`LLMError` (a ``ProviderError``) when the engine fails: HTTP status >= 400 (``status``,
  ``retry_after`` seconds), timeout, transport failure, a response that is not JSON or has the
  wrong shape, or an extraction that cannot satisfy the schema (the offline engine: a constraint
  its rules cannot meet, e.g. ``pattern``; the OpenAI-compatible engine: an answer that is still
  not JSON, invalid or incomplete after one corrective retry). Messages never contain the API
  key. ``ValueError`` for the caller's mistakes: no messages, an unknown role, non-string
  content, ``max_tokens`` < 1, ``temperature`` outside 0-2, a schema that is not a valid JSON
  Schema or whose root is not an object schema.

Engines
  :class:`OpenAICompatibleLanguageModel` (``openai-compatible``) — ``POST {base_url}/chat/completions``;
  ``extract`` returns the model's own answer, checked against the schema, never patched.
  :class:`OfflineLanguageModel` (``offline-template``) — rules and TF-IDF retrieval, no network,
  no generative model.
  :func:`language_model` picks one from the ``LLM_BASE_URL``/``LLM_API_KEY``/``LLM_MODEL`` settings.

Modules
  ``base`` (the interface, argument and JSON Schema checks), ``openai_compatible``, ``offline/``
  (the offline engine, one module per concern) and ``factory`` (:func:`language_model`). Import
  the names below from this package; the modules are its layout, not its interface.
"""

from adapters.providers.llm.base import ROLES, ChatMessage, LanguageModel, LLMError
from adapters.providers.llm.factory import language_model
from adapters.providers.llm.offline import OfflineLanguageModel, detect_language
from adapters.providers.llm.openai_compatible import (
    API_KEY_SETTING,
    DEFAULT_MODEL,
    EXTRACT_MAX_TOKENS,
    OpenAICompatibleLanguageModel,
)

__all__ = [
    "API_KEY_SETTING",
    "DEFAULT_MODEL",
    "EXTRACT_MAX_TOKENS",
    "ROLES",
    "ChatMessage",
    "LLMError",
    "LanguageModel",
    "OfflineLanguageModel",
    "OpenAICompatibleLanguageModel",
    "detect_language",
    "language_model",
]
