"""The served ServiceAi document names its types: every request and response body of an operation
is a ``$ref`` to a component schema (issue 12 (a)), so a client generated from
``GET /openapi/serviceai.json`` gets named types."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"

# (path, method, where) → the component its JSON body names
NAMED = {
    ("/api/version", "get", "200"): "ApiVersion",
    ("/api/chatty-voice/tools", "get", "200[]"): "ChattyToolDefinition",
    ("/api/chatty-voice/tools/execute", "post", "request"): "ChattyExecuteRequest",
    ("/api/chatty-voice/tools/execute", "post", "200"): "ChattyExecuteResponse",
    ("/api/chatty-voice/tools/execute", "post", "500"): "ChattyExecuteResponse",
    ("/api/chatty-voice/ai-context", "get", "200"): "ChattyAiContextResponse",
    ("/api/realtime-token", "post", "request"): "RealtimeTokenRequest",
    ("/api/realtime-token", "post", "200"): "RealtimeTokenResponse",
    ("/api/realtime-token", "post", "500"): "RealtimeTokenResponse",
    ("/api/csrf-token", "get", "200"): "CsrfTokenResponse",
    ("/api/realtime/webrtc", "post", "request"): "RealtimeWebrtcRequest",
    ("/api/realtime/webrtc", "post", "502"): "RealtimeWebrtcMintError",
}


def _inline_objects(node: Any, where: str) -> list[str]:
    """Places under ``node`` that spell an object schema out (``properties``) instead of naming it."""
    if isinstance(node, dict):
        found = [where] if "properties" in node else []
        return found + [w for k, v in node.items() for w in _inline_objects(v, f"{where}/{k}")]
    if isinstance(node, list):
        return [w for i, v in enumerate(node) for w in _inline_objects(v, f"{where}/{i}")]
    return []


def test_every_body_is_a_named_component(client):
    document = client.get("/openapi/serviceai.json").json()
    assert _inline_objects(document["paths"], "paths") == []
    schemas = document["components"]["schemas"]
    for (path, method, where), name in NAMED.items():
        operation = document["paths"][path][method]
        if where == "request":
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
        else:
            schema = operation["responses"][where.rstrip("[]")]["content"]["application/json"]["schema"]
            if where.endswith("[]"):
                assert schema["type"] == "array", (path, where)
                schema = schema["items"]
        assert schema["$ref"] == REF + name, (path, method, where)
        assert name in schemas
    # (i) still holds beside the $ref: an absent optional body means {}
    for path in ("/api/chatty-voice/tools/execute", "/api/realtime-token"):
        assert document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["default"] == {}


def test_tool_parameter_property_schema_is_open(client):
    schemas = client.get("/openapi/serviceai.json").json()["components"]["schemas"]
    parameters = schemas["ChattyToolDefinition"]["properties"]["function"]["properties"]["parameters"]
    each = parameters["properties"]["properties"]["additionalProperties"]
    assert each == {"$ref": REF + "ChattyToolParameterProperty"}
    assert schemas["ChattyToolParameterProperty"]["additionalProperties"] is True
