"""A LiveKit Agents ``SessionReport`` (``report.to_dict()``, posted by the agent at shutdown) →
the three transcript forms of a Virstack call.

Input: ``chat_history.items`` - ``message`` items (``role`` user/assistant/system/developer,
``content``: list of strings or ``{type, text|transcript}`` parts, ``created_at`` seconds,
``interrupted``), ``function_call`` items (``call_id``, ``name``, ``arguments`` JSON text) and
``function_call_output`` items (``call_id``, ``name``, ``output``, ``is_error``). When the
report has no chat history, ``conversation_item_added`` / ``function_tools_executed`` entries
of ``events`` are used instead.

Output:

- ``transcript``: plain text, one ``Agent: …`` / ``User: …`` line per utterance;
- ``transcript_object``: ``[{role: agent|user, content, timestamp?, interrupted?}]``;
- ``transcript_with_tool_calls``: the same utterances interleaved, in order, with
  ``{role: tool_call_invocation, tool_call_id, name, arguments}`` and
  ``{role: tool_call_result, tool_call_id, name, content, successful}``.

System/developer messages (the prompt) are not part of the conversation and are skipped.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = {"assistant": "agent", "agent": "agent", "user": "user"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [_text(p) for p in content]
        return " ".join(p for p in parts if p)
    if isinstance(content, dict):
        for key in ("text", "transcript", "content"):
            if isinstance(content.get(key), str):
                return content[key].strip()
    return ""


def _items(report: dict[str, Any]) -> list[dict[str, Any]]:
    history = report.get("chat_history")
    if isinstance(history, dict) and isinstance(history.get("items"), list):
        return [i for i in history["items"] if isinstance(i, dict)]
    if isinstance(history, list):
        return [i for i in history if isinstance(i, dict)]
    items: list[dict[str, Any]] = []
    for event in report.get("events") or []:
        if not isinstance(event, dict):
            continue
        if event.get("type") == "conversation_item_added" and isinstance(event.get("item"), dict):
            items.append(event["item"])
        elif event.get("type") == "function_tools_executed":
            items.extend(c for c in event.get("function_calls") or [] if isinstance(c, dict))
            items.extend(o for o in event.get("function_call_outputs") or [] if isinstance(o, dict))
    return items


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def parse_session_report(report: dict[str, Any]) -> dict[str, Any]:
    """The three transcript forms of ``report`` (see module docstring); empty forms for a
    report without conversation."""
    utterances: list[dict[str, Any]] = []
    interleaved: list[dict[str, Any]] = []
    for item in _items(report):
        kind = item.get("type", "message")
        if kind == "message":
            role = ROLES.get(str(item.get("role", "")))
            text = _text(item.get("content"))
            if role is None or not text:
                continue
            entry: dict[str, Any] = {"role": role, "content": text}
            if isinstance(item.get("created_at"), (int, float)):
                entry["timestamp"] = item["created_at"]
            if item.get("interrupted"):
                entry["interrupted"] = True
            utterances.append(entry)
            interleaved.append(dict(entry))
        elif kind == "function_call":
            interleaved.append({"role": "tool_call_invocation", "tool_call_id": str(item.get("call_id", "")),
                                "name": str(item.get("name", "")), "arguments": _arguments(item.get("arguments"))})
        elif kind == "function_call_output":
            interleaved.append({"role": "tool_call_result", "tool_call_id": str(item.get("call_id", "")),
                                "name": str(item.get("name", "")), "content": _text(item.get("output")) or
                                str(item.get("output", "")), "successful": not bool(item.get("is_error"))})
    transcript = "\n".join(f"{'Agent' if u['role'] == 'agent' else 'User'}: {u['content']}" for u in utterances)
    return {"transcript": transcript, "transcript_object": utterances, "transcript_with_tool_calls": interleaved}
