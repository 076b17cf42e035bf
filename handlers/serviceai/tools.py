"""Chatty Voice tool operations: listChattyVoiceTools and executeChattyVoiceTool."""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from adapters.storage.database import StorageUnavailable
from generated.models.serviceai import ChattyExecuteRequest, ChattyExecuteResponse
from handlers.results import Reply
from handlers.serviceai.permissions import effective_permissions
from handlers.serviceai.toolkit import TOOLS, Caller, ToolFailure, ToolResult
from handlers.serviceai.versioning import chatty

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

logger = logging.getLogger("handlers.serviceai.tools")



@cache
def _validator(name: str) -> Draft202012Validator:
    """The compiled validator of tool ``name``'s parameters (made on its first execution: importing
    jsonschema and compiling every tool's schema cost start-up ~40 ms)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(TOOLS[name].parameters)


@chatty
async def list_chatty_voice_tools(token_info: dict[str, Any]) -> Reply:
    """``GET /api/chatty-voice/tools`` (listChattyVoiceTools) → 200 a BARE ARRAY of
    ``ChattyToolDefinition`` (``{type: "function", function: {name, description, parameters}}``),
    the whole catalogue of :mod:`handlers.serviceai.toolkit`, each executable through
    executeChattyVoiceTool. Whether the caller may run a tool is decided at execution.

    Errors: 401, 400 (bad X-Client-Version), 426 (client major below minClientVersion), 403
    (no ``chatty-voice`` entitlement).
    """
    return Reply([tool.definition() for tool in TOOLS.values()])


def _failure(code: str, error: str) -> ChattyExecuteResponse:
    return ChattyExecuteResponse(success=False, code=code, error=error)


def result_response(result: ToolResult) -> ChattyExecuteResponse:
    """A tool's :class:`ToolResult` as the executor's ``{success: true, message, data[, action]}``
    (``data`` / ``action`` omitted when the tool gave none)."""
    return ChattyExecuteResponse(success=True, message=result.message, data=result.data, action=result.action)


@chatty
async def execute_chatty_voice_tool(token_info: dict[str, Any],
                                    body: ChattyExecuteRequest | None = None) -> ChattyExecuteResponse | Reply:
    """``POST /api/chatty-voice/tools/execute`` (executeChattyVoiceTool): run one tool.

    Body ``ChattyExecuteRequest`` ``{function?, name?, arguments?}`` (absent = ``{}``):
    ``function`` is canonical, ``name`` its legacy alias (``function`` wins when both are sent);
    ``arguments`` is the tool's argument object (absent = ``{}``), validated against the tool's
    ``parameters`` schema.

    Always 200 ``ChattyExecuteResponse`` once the request reaches the executor:
      * ``{success: true, message, data[, action]}`` — ``action`` (navigate) is for the client
        to execute, e.g. ``{type: "navigate", route: "/jobs/job_…"}``;
      * ``{success: false, code, error}`` with code ``UNKNOWN_FUNCTION`` (no function named, or
        not in the catalogue), ``PERMISSION_DENIED`` (caller lacks the tool's permission),
        ``INVALID_ARGUMENTS`` or ``NOT_FOUND`` (a record id that is not the caller's
        organisation's).
    500 ``Reply(ChattyExecuteResponse{success: false, code: "EXECUTOR_ERROR", error}, 500)`` only
    when a tool fails unexpectedly; the database unreachable is the gateway's 503 with
    ``Retry-After`` (``StorageUnavailable``). Gate errors: 401, 400, 426, 403.
    """
    request = body or ChattyExecuteRequest()
    name = request.function or request.name
    if not name:
        return _failure("UNKNOWN_FUNCTION", "No function given: send `function` (or the legacy `name`).")
    tool = TOOLS.get(name)
    if tool is None:
        return _failure("UNKNOWN_FUNCTION", f"Unknown function {name!r}. Known: {', '.join(TOOLS)}.")
    if tool.permission and tool.permission not in effective_permissions(token_info):
        return _failure("PERMISSION_DENIED",
                        f"You do not have permission to use {name} (requires {tool.permission}).")
    arguments = request.arguments or {}
    problems = sorted(_validator(name).iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if problems:
        where = ".".join(str(p) for p in problems[0].absolute_path)
        return _failure("INVALID_ARGUMENTS", f"Invalid arguments for {name}: "
                                             f"{where + ': ' if where else ''}{problems[0].message}")
    caller = Caller(token_info["sub"], token_info["organization_id"], token_info.get("display_name"))
    try:
        result = await tool.run(caller, arguments)
    except ToolFailure as failure:
        return _failure(failure.code, failure.error)
    except StorageUnavailable:
        raise  # the gateway's declared 503 with Retry-After: an outage, not a tool fault
    except Exception:  # noqa: BLE001 - a true executor fault: the documented 500 envelope
        logger.exception("tool %s failed for user %s", name, caller.user_id)
        return Reply(_failure("EXECUTOR_ERROR", f"The {name} tool failed unexpectedly; try again later."), 500)
    return result_response(result)
