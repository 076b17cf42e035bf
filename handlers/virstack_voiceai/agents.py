"""Virstack agents: createAgent, listAgents, getAgent, updateAgent, deleteAgent,
publishAgentVersion, listAgentVersions.

An agent's configuration is ``agent_settings`` (CreateAgentBody): identity, engine, behavior,
call_handling, capabilities (knowledge base, tools, post-call analysis schema), metadata. It is
validated against the contract (generated models) and stored as sent with the contract's defaults
filled in; answers carry it as the contract's ``AgentSettings`` (keys outside the schema are not
echoed). Enabled ``talk_while_waiting`` blocks get their
``generated_speech_texts`` (the static texts, or lines generated from the prompts).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio.to_thread
from pydantic import BaseModel

from adapters.providers.base import ProviderError
from adapters.providers.llm import ChatMessage
from adapters.storage.virstack_voiceai.agents import AgentRecord, AgentVersionRecord
from adapters.telephony.base import TelephonyError
from adapters.webhooks import UnsafeDestination, check_destinations, check_static
from core.clock import utcnow
from core.mapping import deep_merge
from generated.models.virstack_voiceai import (
    AgentDeleted,
    AgentDeletedEnvelope,
    AgentEnvelope,
    AgentListEnvelope,
    AgentResponse,
    AgentSettings,
    AgentVersionEnvelope,
    AgentVersionListEnvelope,
    AgentVersionResponse,
    CreateAgentBody,
    PublishAgentBody,
    UpdateAgentBody,
)
from handlers.errors import ApiError, parse_request
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import moment, not_found, ok, page, stamp

logger = logging.getLogger("handlers.virstack_voiceai.agents")
MAX_FILLER_VARIANTS = 5


def _check_tools(settings: dict[str, Any]) -> None:
    """Rules the contract states in prose: custom tool names are unique; in prompt mode the
    ``variants_count`` of the filler entries sum to at most 5."""
    tools = (settings.get("capabilities") or {}).get("tools") or []
    names: set[str] = set()
    for index, tool in enumerate(tools):
        name = tool.get("tool_name")
        if tool.get("type") == "custom" and name in names:
            raise ApiError(400, "VALIDATION_ERROR",
                           f"agent_settings.capabilities.tools.{index}.tool_name: {name!r} is used twice")
        names.add(name)
        talk = tool.get("talk_while_waiting") or {}
        if talk.get("mode") == "prompt":
            entries = (talk.get("texts_or_prompts") or {}).get("entries") or []
            total = sum(e.get("variants_count") or 1 for e in entries)
            if total > MAX_FILLER_VARIANTS:
                raise ApiError(400, "VALIDATION_ERROR",
                               f"agent_settings.capabilities.tools.{index}.talk_while_waiting: the variants_count "
                               f"of the prompt entries sum to {total}; at most {MAX_FILLER_VARIANTS} are allowed")


def sent(settings: BaseModel) -> dict[str, Any]:
    """The fields of a parsed ``agent_settings`` the caller sent (explicit nulls included, the
    contract's defaults not filled in), as JSON data."""
    return settings.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)


def _overlay(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in place, as :func:`core.mapping.deep_merge` merges (objects
    recursively, anything else replaced; new keys after ``base``'s) but without copying: both
    are fresh dumps that nothing else holds. Returns ``base``."""
    for key, change in changes.items():
        value = base.get(key)
        if isinstance(change, dict) and isinstance(value, dict):
            _overlay(value, change)
        else:
            base[key] = change
    return base


def stored_settings(model: BaseModel, given: dict[str, Any]) -> dict[str, Any]:
    """The stored form of an ``agent_settings`` that satisfies CreateAgentBody: ``model`` (the
    parsed settings) with the contract's defaults filled in, everything in ``given`` (the fields
    sent, as JSON data: :func:`sent`) kept as given. 400 when the rules the contract states only in
    prose are broken (:func:`_check_tools`)."""
    normalized = model.model_dump(mode="json", by_alias=True, exclude_none=True,
                                  warnings=False)  # generated enum defaults are plain strings
    settings = _overlay(normalized, given)
    _check_tools(settings)
    return settings


def validated_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """``agent_settings`` data not parsed yet (a merge of stored and sent settings) checked against
    CreateAgentBody → :func:`stored_settings`. 400 on a violation. ``raw`` becomes part of the
    result (not copied)."""
    model = parse_request(CreateAgentBody, {"agent_settings": raw})
    return stored_settings(model.agent_settings, raw)


async def checked_urls(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every tool's ``webhook_url`` and ``filler_audio_urls`` checked and
    canonicalised: only http(s) URLs whose host is (or resolves to) public addresses — or inside
    ``WEBHOOK_ALLOWED_NETWORKS`` — are accepted (``file:``, ``gopher:``, ``169.254.169.254``,
    loopback and private hosts → 400 ``VALIDATION_ERROR`` naming the first refused field); the
    canonical form is stored. The checks that need no DNS run here; host names are resolved in
    one worker-thread call (each distinct name once), only when there are any."""
    tools = (settings.get("capabilities") or {}).get("tools") or []
    places: list[tuple[str, dict[str, Any], str, int | None]] = []  # (where, holder, key, list index)
    for index, tool in enumerate(tools):
        where = f"agent_settings.capabilities.tools.{index}"
        if tool.get("webhook_url") is not None:
            places.append((f"{where}.webhook_url", tool, "webhook_url", None))
        for n, _ in enumerate(tool.get("filler_audio_urls") or ()):
            places.append((f"{where}.filler_audio_urls.{n}", tool, "filler_audio_urls", n))
    if not places:
        return settings
    urls = [str(holder[key] if item is None else holder[key][item]) for _, holder, key, item in places]
    allowed = bundle().settings.webhook_allowed_networks
    checked = []
    for n, url in enumerate(urls):
        try:
            checked.append(check_static(url, allowed))
        except UnsafeDestination as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"{places[n][0]}: {exc}") from None
    names = [n for n, destination in enumerate(checked) if not destination.addresses]
    if names:
        try:
            await anyio.to_thread.run_sync(
                partial(check_destinations, [checked[n].url for n in names], allowed, require_resolvable=False))
        except UnsafeDestination as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"{places[names[exc.index or 0]][0]}: {exc}") from None
    for (_, holder, key, item), destination in zip(places, checked, strict=True):
        if item is None:
            holder[key] = destination.url
        else:
            holder[key][item] = destination.url
    return settings


GENERIC_FILLERS = ["Let me check that for you, one moment.", "One moment while I look into that.",
                   "Bear with me for just a second.", "Just a moment, I'm on it.", "Give me a second to check that."]
TOOL_FILLERS = {"transfer_call": "One moment please, I'm transferring you now.",
                "send_sms": "Sure, I'm sending you a text message right now.",
                "end_call": "Thank you for calling. Have a great day!"}


def _waiting_config(tool: dict[str, Any]) -> dict[str, Any]:
    talk = dict(tool.get("talk_while_waiting") or {})
    talk.pop("generated_speech_texts", None)
    return talk


async def _prompt_texts(settings: dict[str, Any], tool: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """``variants_count`` filler lines per prompt entry: from the shared language model when it is a
    generative one, else distinct lines of the offline template bank (tool-specific first)."""
    wanted = [(e, max(1, e.get("variants_count") or 1)) for e in entries]
    model = bundle().providers.llm()
    if getattr(model, "generative", False):
        persona = (settings.get("behavior") or {}).get("system_prompt", {}).get("persona", "")
        language = ((settings.get("engine") or {}).get("voice_settings") or {}).get("language", "en")
        texts: list[str] = []
        try:
            for entry, count in wanted:
                for n in range(count):
                    messages = [ChatMessage("system", f"{persona}\nWrite ONE short filler sentence (under 15 words) a "
                                                      f"voice agent says while the tool `{tool.get('tool_name')}` "
                                                      f"runs, in language `{language}`; variant {n + 1}, different "
                                                      f"from: "
                                                      f"{texts}. Reply with the sentence only."),
                                ChatMessage("user", entry.get("content", ""))]
                    texts.append((await model.chat(messages, max_tokens=60, temperature=0.9)).strip().strip('"'))
            return texts
        except (ProviderError, ValueError):
            pass  # the offline bank below: saving an agent must not depend on a remote model
    bank = [TOOL_FILLERS[tool["tool_name"]]] if tool.get("tool_name") in TOOL_FILLERS else []
    bank += [line for line in GENERIC_FILLERS if line not in bank]
    total = sum(count for _, count in wanted)
    return [bank[i % len(bank)] for i in range(total)]


async def fill_speech_texts(settings: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Set ``generated_speech_texts`` of every enabled ``talk_while_waiting``: the static texts
    (mode static) or lines generated from the prompts (mode prompt). Tools whose waiting
    configuration did not change keep their texts."""
    before = {t.get("tool_name"): t for t in ((previous or {}).get("capabilities") or {}).get("tools") or []}
    for tool in (settings.get("capabilities") or {}).get("tools") or []:
        talk = tool.get("talk_while_waiting")
        if not talk or not talk.get("enabled"):
            continue
        entries = (talk.get("texts_or_prompts") or {}).get("entries") or []
        old = before.get(tool.get("tool_name"))
        if old and _waiting_config(old) == _waiting_config(tool) and \
                (old.get("talk_while_waiting") or {}).get("generated_speech_texts"):
            talk["generated_speech_texts"] = old["talk_while_waiting"]["generated_speech_texts"]
        elif talk.get("mode") == "prompt":
            talk["generated_speech_texts"] = await _prompt_texts(settings, tool, entries)
        else:
            talk["generated_speech_texts"] = [e.get("content", "") for e in entries]
    return settings


def settings_model(settings: dict[str, Any]) -> AgentSettings:
    """A stored configuration as the contract's AgentSettings (it was validated against
    CreateAgentBody when stored)."""
    return AgentSettings.model_validate(settings)


def agent_response(agent: AgentRecord) -> AgentResponse:
    """An agent as answered by the agent operations (``AgentResponse``)."""
    return AgentResponse(agent_id=agent.agent_id, agent_settings=settings_model(agent.settings),
                         is_active=agent.is_active, version=agent.version, is_published=agent.is_published,
                         last_modification_timestamp=stamp(agent.updated_at), created_at=moment(agent.created_at))


def version_response(version: AgentVersionRecord) -> AgentVersionResponse:
    """A published snapshot (``AgentVersionResponse``; ``version_description`` only when one was given)."""
    return AgentVersionResponse(agent_id=version.agent_id, version=version.version,
                                agent_settings=settings_model(version.settings),
                                version_description=version.description,
                                created_timestamp=stamp(version.created_at))


async def owned_agent(agent_id: str, token_info: dict[str, Any]) -> AgentRecord:
    """The caller's organization's agent, else 404 (also for another organization's id)."""
    agent = await bundle().agents.get(token_info["org_id"], agent_id)
    if agent is None:
        raise not_found("Agent", agent_id)
    return agent


async def create_agent(body: CreateAgentBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/agent`` (createAgent) → 201 ``AgentEnvelope`` (``agent_id``: 16-character nanoid,
    ``version`` 0, ``is_published`` false). 400 when ``agent_settings`` breaks the contract or the
    rules it states in prose (unique custom tool names, at most 5 filler variants); tool
    ``webhook_url`` / ``filler_audio_urls`` only http(s) to public addresses (canonicalised)."""
    # the pipeline validated the body against the contract and bound parsed it: no second parse
    settings = await fill_speech_texts(await checked_urls(stored_settings(body.agent_settings,
                                                                          sent(body.agent_settings))))
    agent = await bundle().agents.create(token_info["org_id"], settings, utcnow())
    return ok(AgentEnvelope, agent_response(agent), 201, "Agent created successfully")


async def list_agents(token_info: dict[str, Any], limit: int | None = None, offset: int | None = None) -> Reply:
    """``GET /v1/agent/list`` (listAgents) → 200 ``AgentListEnvelope``: the organization's agents,
    newest first (``limit`` default 10, at most 100; ``offset`` default 0)."""
    limit, offset = page(limit, offset)
    agents = await bundle().agents.list(token_info["org_id"], limit, offset)
    return ok(AgentListEnvelope, [agent_response(a) for a in agents])


async def get_agent(agent_id: str, token_info: dict[str, Any]) -> Reply:
    """``GET /v1/agent/{agent_id}`` (getAgent) → 200 ``AgentEnvelope``; 404 unknown."""
    return ok(AgentEnvelope, agent_response(await owned_agent(agent_id, token_info)))


async def update_agent(agent_id: str, body: UpdateAgentBody, token_info: dict[str, Any]) -> Reply:
    """``PATCH /v1/agent/{agent_id}`` (updateAgent) → 200 ``AgentEnvelope``.

    ``agent_settings`` is merged deeply into the current configuration (objects merge, arrays
    and values replace) and the result must satisfy CreateAgentBody (400 otherwise, nothing
    stored). ``version`` + 1, ``is_published`` false. 404 unknown agent."""
    agent = await owned_agent(agent_id, token_info)
    merged = deep_merge(agent.settings, sent(body.agent_settings))
    settings = await fill_speech_texts(await checked_urls(validated_settings(merged)), agent.settings)
    updated = await bundle().agents.replace_settings(token_info["org_id"], agent_id, settings, utcnow())
    if updated is None:
        raise not_found("Agent", agent_id)
    return ok(AgentEnvelope, agent_response(updated), 200, "Agent updated successfully")


async def delete_agent(agent_id: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/agent/{agent_id}`` (deleteAgent) → 200 ``AgentDeletedEnvelope`` (``data: {agent_id}``).

    Cascades: the agent's active calls are ended (rooms torn down), phone numbers answering
    with it are deactivated and unbound, its version snapshots are deleted. 404 unknown."""
    v = bundle()
    org_id = token_info["org_id"]
    await owned_agent(agent_id, token_info)
    now = utcnow()
    for call in await v.calls.active_for_agent(org_id, agent_id):
        try:
            await v.telephony.delete_room(call.room_name)
        except TelephonyError as exc:  # the call record is ended regardless
            logger.warning("could not delete room %s of deleted agent %s: %s", call.room_name, agent_id, exc)
        await v.calls.transition(call.call_id, "ended", now, reason="agent_deleted")
    await v.sip.release_agent(org_id, agent_id, now)
    if not await v.agents.delete(org_id, agent_id):
        raise not_found("Agent", agent_id)
    return ok(AgentDeletedEnvelope, AgentDeleted(agent_id=agent_id), 200, "Agent deleted successfully")


async def publish_agent_version(agent_id: str, token_info: dict[str, Any],
                                body: PublishAgentBody | None = None) -> Reply:
    """``POST /v1/agent/{agent_id}/publish`` (publishAgentVersion) → 201 ``AgentVersionEnvelope``.

    Snapshots the current configuration as an immutable version numbered 1, 2, 3…; when the
    latest snapshot already equals the current configuration it is returned unchanged
    (idempotent, message says so). 404 unknown agent."""
    description = body.version_description if body is not None else None
    result = await bundle().agents.publish(token_info["org_id"], agent_id, description, utcnow())
    if result is None:
        raise not_found("Agent", agent_id)
    snapshot, created = result
    message = "Agent version published" if created else "Agent already published; returning the existing version"
    return ok(AgentVersionEnvelope, version_response(snapshot), 201, message)


async def list_agent_versions(agent_id: str, token_info: dict[str, Any], limit: int | None = None,
                              offset: int | None = None) -> Reply:
    """``GET /v1/agent/{agent_id}/versions`` (listAgentVersions) → 200 ``AgentVersionListEnvelope``:
    the snapshots, newest first (paging as listAgents). 404 unknown agent."""
    limit, offset = page(limit, offset)
    versions = await bundle().agents.list_versions(token_info["org_id"], agent_id, limit, offset)
    if versions is None:
        raise not_found("Agent", agent_id)
    return ok(AgentVersionListEnvelope, [version_response(v) for v in versions])
