"""Virstack testPostCallAnalysis: post-call analysis through the shared language model."""

from __future__ import annotations

import re
from typing import Any

from adapters.providers.llm import LLMError
from core.clock import isoformat, utcnow
from generated.models.virstack_voiceai import CallAnalysis, CallAnalysisResult, CallAnalysisResultEnvelope
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.calls import owned_call
from handlers.virstack_voiceai.common import ok

TYPES = {"string": "string", "text": "string", "number": "number", "integer": "integer", "boolean": "boolean",
         "bool": "boolean", "enum": "string", "array": "array", "list": "array"}
STANDARD = {
    "call_summary": {"type": "string", "description": "A short summary of the call."},
    "user_sentiment": {"type": "string", "enum": ["Positive", "Neutral", "Negative", "Unknown"],
                       "description": "The caller's overall sentiment."},
    "call_successful": {"type": "boolean", "description": "Whether the agent achieved the call's goal."},
}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-]{0,63}$")


def analysis_schema(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of an agent's ``post_call_analysis_schema``.

    Each item defines one field: ``{name, type: string|number|integer|boolean|enum|array,
    description?, choices|enum?}`` (``enum``/``choices`` make a string with those values). The
    standard fields ``call_summary``, ``user_sentiment`` and ``call_successful`` are always
    extracted. 400 for an item without a usable name or with an unknown type.
    """
    properties: dict[str, Any] = {}
    for index, item in enumerate(items):
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise ApiError(400, "INVALID_ANALYSIS_SCHEMA",
                           f"post_call_analysis_schema.{index}.name: a field name is required")
        kind = TYPES.get(str(item.get("type", "string")).lower())
        if kind is None:
            raise ApiError(400, "INVALID_ANALYSIS_SCHEMA", f"post_call_analysis_schema.{index}.type: one of "
                                                           f"{', '.join(sorted(set(TYPES)))}")
        prop: dict[str, Any] = {"type": kind}
        if isinstance(item.get("description"), str):
            prop["description"] = item["description"]
        choices = item.get("choices") or item.get("enum")
        if isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices):
            prop = {**prop, "type": "string", "enum": list(dict.fromkeys(choices))}
        if kind == "array":
            prop["items"] = {"type": "string"}
        properties[name] = prop
    return {"type": "object", "properties": {**STANDARD, **properties},
            "required": list({**STANDARD, **properties})}


async def test_post_call_analysis(call_id: str, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/call/{call_id}/analyze`` (testPostCallAnalysis) → 200 ``CallAnalysisResultEnvelope``
    (``data: {call_id, call_analysis: {call_summary, user_sentiment, call_successful,
    custom_analysis_data, engine, transcript_available, analyzed_at}}``).

    Runs the agent's ``post_call_analysis_schema`` (plus summary, sentiment, success) over the
    call's stored transcript with the shared language model (``LLM_BASE_URL`` when configured,
    else the offline extractor, which fills every field from the transcript's own words) and
    stores the result on the call (``call_analysis``). 404 unknown call; 400 invalid analysis
    schema; 503 the language model failed."""
    v = bundle()
    call = await owned_call(call_id, token_info)
    agent = await v.agents.get(token_info["org_id"], call.agent_id)
    items = ((agent.settings.get("capabilities") or {}).get("post_call_analysis_schema") or []) if agent else []
    schema = analysis_schema([i for i in items if isinstance(i, dict)])
    transcript = (call.transcripts or {}).get("transcript") or ""
    model = bundle().providers.llm()
    instructions = "Analyse this phone/web call between a voice agent and a caller."
    try:
        result = await model.extract(transcript, schema, instructions=instructions)
    except LLMError as exc:
        raise ApiError(503, "PROVIDER_UNAVAILABLE", f"language model failed: {exc}") from None
    except ValueError as exc:
        raise ApiError(400, "INVALID_ANALYSIS_SCHEMA", str(exc)) from None
    now = utcnow()
    analysis = {"call_summary": result.get("call_summary"), "user_sentiment": result.get("user_sentiment"),
                "call_successful": result.get("call_successful"),
                "custom_analysis_data": {k: v for k, v in result.items() if k not in STANDARD},
                "engine": model.name, "transcript_available": bool(transcript), "analyzed_at": isoformat(now)}
    await v.calls.store_analysis(token_info["org_id"], call_id, analysis, now)
    data = CallAnalysisResult(call_id=call_id, call_analysis=CallAnalysis.model_validate(analysis))
    return ok(CallAnalysisResultEnvelope, data, 200, "Call analysis completed")
