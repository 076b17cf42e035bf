"""``OpenAICompatibleLanguageModel``: an OpenAI-compatible chat-completions server behind :class:`LanguageModel`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from adapters.providers.base import ProviderError
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorClient, VendorHTTPError
from adapters.providers.llm.base import (
    ChatMessage,
    LLMError,
    _check_generation,
    _check_schema,
    _coerce_messages,
    _declared_only,
    _schema_errors,
    _Schemas,
)

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
API_KEY_SETTING = "LLM_API_KEY"
EXTRACT_MAX_TOKENS = 1500
_EXCERPT_CHARS = 200


class OpenAICompatibleLanguageModel:
    """An OpenAI-compatible chat-completions server (OpenAI, Azure OpenAI proxies, vLLM, Ollama,
    LM Studio, OpenRouter…).

    ``POST {base_url}/chat/completions`` with ``{"model", "messages": [{"role", "content"}],
    "max_tokens", "temperature"}`` and ``Authorization: Bearer <api_key>`` when a key is set
    (``base_url`` like ``https://api.openai.com/v1``). The reply is
    ``choices[0].message.content`` (a string, or a list of ``{"type": "text", "text"}`` parts).

    ``extract`` sends ``response_format: {"type": "json_object"}``, temperature 0 and the schema
    in the system prompt; the answer must be a JSON object (code fences or prose around it are
    tolerated). Undeclared keys are dropped; the rest is returned as the model wrote it when it
    is valid against the schema and has every declared property (at every level of nested
    objects and arrays of objects). Otherwise the model is asked ONCE more — the conversation,
    its answer and a user message naming what was wrong (``Your answer did not satisfy the
    schema: …``) — and a second answer that is still not JSON, invalid or incomplete is an
    :class:`LLMError`. Nothing is filled in or corrected on the model's behalf.

    Errors: HTTP >= 400, timeouts (``timeout`` seconds per request), transport failures, a
    body that is not JSON, an unexpected shape, or an extraction answer rejected twice →
    :class:`LLMError`, with the key replaced by ``***``. ``ValueError`` for a base_url that is
    not http(s) or an empty model. ``client`` (used as is, never closed here) or ``transport``
    are for tests and pooling.
    """

    name = "openai-compatible"
    generative = True
    capabilities: frozenset[str] = frozenset({"generative", "chat", "schema_extraction", "json_mode"})

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/]+", base_url.strip()):
            raise ValueError("base_url must be an http(s) URL such as https://api.openai.com/v1")
        if not model or not isinstance(model, str):
            raise ValueError("model must be a non-empty model name")
        self.base_url = base_url.strip().rstrip("/")
        self.model = model
        self._api_key = api_key or None
        self._url = f"{self.base_url}/chat/completions"
        self._http = VendorClient(
            self.name, secrets=[api_key] if api_key else [], timeout=timeout, client=client, transport=transport
        )

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in as ``client``)."""
        await self._http.aclose()

    async def __aenter__(self) -> OpenAICompatibleLanguageModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def chat(self, messages: list[ChatMessage], *, max_tokens: int = 400, temperature: float = 0.3) -> str:
        """The model's reply text; LLMError on any failure, ValueError on bad arguments."""
        _check_generation(max_tokens, temperature)
        payload = [{"role": m.role, "content": m.content} for m in _coerce_messages(messages)]
        return await self._complete(payload, max_tokens=max_tokens, temperature=temperature)

    async def extract(self, text: str, schema: dict, *, instructions: str = "") -> dict:
        """The model's JSON object for ``text``: valid against ``schema`` and complete (see the class
        docstring), asked for once, and once more with the problems when the first answer fails.

        ``text`` is the user message; ``instructions`` (optional) lead the system prompt. Raises
        ValueError for a non-string ``text`` or a bad schema, LLMError when a request fails or the
        second answer is still not a valid, complete JSON object."""
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        validator = _check_schema(schema)
        schemas = _Schemas(schema)
        system = (
            (instructions.strip() + "\n\n" if instructions and instructions.strip() else "")
            + "Extract information from the user's text. Answer with ONE JSON object only (no prose, no code "
            "fences) that is valid against this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False)
            + "\nFill EVERY property, including optional ones and those of nested objects. Derive the values from "
            "the text; when the text says nothing about a property, use false, 0, an empty string or an empty "
            "list as its type allows."
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        content = await self._complete(messages, max_tokens=EXTRACT_MAX_TOKENS, temperature=0.0, json_mode=True)
        result, problems = self._check_answer(content, validator, schemas)
        if not problems:
            return result
        where = ", ".join(path for path, _ in problems)
        logger.info("%s extract: the answer did not satisfy the schema at %s; asking once more", self.name, where)
        correction = f"Your answer did not satisfy the schema: {_describe(problems)}. Reply with corrected JSON only."
        messages += [{"role": "assistant", "content": content}, {"role": "user", "content": correction}]
        content = await self._complete(messages, max_tokens=EXTRACT_MAX_TOKENS, temperature=0.0, json_mode=True)
        result, problems = self._check_answer(content, validator, schemas)
        if problems:
            raise LLMError(
                self._http.redact(
                    f"{self.name}: the answer did not satisfy the schema after one retry: {_describe(problems)}"
                )
            )
        return result

    def _check_answer(
        self, content: str, validator: Validator, schemas: _Schemas
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The answer's object without undeclared keys, and what is wrong with it as ``(path, message)``:
        not JSON, not an object, schema errors, missing properties. No problems = usable as is."""
        try:
            answer = self._parse_json(content)
        except LLMError as exc:
            return {}, [("(root)", str(exc).removeprefix(f"{self.name} returned "))]
        result, missing = _declared_only(answer, schemas.root, schemas)
        problems = _schema_errors(validator, result)
        for path in missing:
            parent, _, key = path.rpartition("/")
            if (parent or "(root)", f"{key!r} is a required property") not in problems:  # jsonschema said it
                problems.append((path, "missing (fill every property)"))
        return result, problems

    # ---- plumbing -----------------------------------------------------------------------

    async def _complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
                        json_mode: bool = False) -> str:  # fmt: skip
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await self._http.post(self._url, json_body=body, headers=headers, setting_hint=API_KEY_SETTING)
            payload = self._http.json(response)
        except VendorHTTPError as exc:
            raise LLMError(str(exc), status=exc.status, retry_after=exc.retry_after) from None
        except ProviderError as exc:
            raise LLMError(self._http.redact(str(exc))) from None
        return self._content(payload)

    def _content(self, payload: Any) -> str:
        """The reply text of a chat-completions body; LLMError for an error body, a refusal or a bad shape."""
        if isinstance(payload, Mapping) and payload.get("error") and not payload.get("choices"):
            error = payload["error"]
            detail = error.get("message") if isinstance(error, Mapping) else error
            raise LLMError(self._http.redact(f"{self.name} returned an error: {str(detail)[:_EXCERPT_CHARS]}"))
        try:
            message = payload["choices"][0]["message"]
            content = message.get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(
                f"{self.name} returned an unexpected response: no choices[0].message ({type(exc).__name__})"
            ) from None
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        if content is None:
            refusal = message.get("refusal") if isinstance(message, Mapping) else None
            what = (
                f"the model refused: {str(refusal)[:_EXCERPT_CHARS]}"
                if refusal
                else "choices[0].message.content is empty"
            )
            raise LLMError(self._http.redact(f"{self.name} returned no text ({what})"))
        if not isinstance(content, str):
            raise LLMError(f"{self.name} returned an unexpected response: content is {type(content).__name__}")
        return content

    def _parse_json(self, content: str) -> dict:
        """The JSON object in ``content`` (code fences or prose around it tolerated); LLMError otherwise."""
        text = content.strip()
        fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S | re.I)
        if fenced:
            text = fenced.group(1)
        if not text.startswith("{") and "{" in text and "}" in text:
            text = text[text.index("{") : text.rindex("}") + 1]
        try:
            value = json.loads(text)
        except ValueError:
            excerpt = re.sub(r"\s+", " ", self._http.redact(content))[:_EXCERPT_CHARS] or "(empty)"
            raise LLMError(f"{self.name} returned text that is not JSON: {excerpt}") from None
        if not isinstance(value, dict):
            raise LLMError(f"{self.name} returned JSON that is not an object ({type(value).__name__})")
        return value


def _describe(problems: list[tuple[str, str]], limit: int = 10) -> str:
    """``path: message; …`` for the first ``limit`` problems, each message cut to a readable length."""
    text = "; ".join(f"{where}: {message[:_EXCERPT_CHARS]}" for where, message in problems[:limit])
    return text + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")
