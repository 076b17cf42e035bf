"""schemathesis hooks of ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS=tools.fuzz_hooks``).

- ``after_call`` records ``(operation, status)`` of every request as a JSON line in the file
  named by ``FUZZ_RECORD``: :mod:`tools.fuzz` reads it to print the depth (operations driven to
  a 2xx).
- ``filter_failure`` drops two false positives (see its docstring).
- ``before_call`` gives a request what only the caller's credentials can give: Virtual Banker's
  ``createSession`` body must carry ``auth_assertion``, a JWT for the body's ``tenant_id`` and
  ``user_id``; the bearer JWT the request is sent with is such an assertion, so a body that
  carries an ``auth_assertion`` string gets the bearer token and its claims. Virstack's
  ``receiveLivekitWebhook`` is authenticated by a LiveKit signature of the exact body: when
  ``FUZZ_VIRSTACK_LIVEKIT_KEY``/``_SECRET`` are set and the request carries a fuzzing user's own
  credentials (``FUZZ_USER_AUTH``, set by :mod:`tools.fuzz`; ``ignored_auth`` probes carry none or
  others, and stay unsigned), the body is serialized here and signed as LiveKit does.
  schemathesis re-classifies a case edited here (positive or negative), so its checks stay right.
- ``filter_failure`` also drops failures ``FUZZ_IGNORED`` (``{operationId: [failure codes]}``,
  written by :mod:`tools.fuzz` from its table of reasons) names.
- Identifiers of the caller's own resources (``POOLS``): ``after_call`` keeps the ids a 2xx of a
  producing operation returned, per caller (``Authorization``); ``before_call`` puts one of them,
  on every other call (every call of the examples phase), where a consuming operation needs an
  existing resource of the caller's (Virstack: the agent a number is answered by, the number a
  call is made from, a number's id, the trunk and rule a number is registered on; Vertebro: the
  audio id inside ``audio_url``; Virtual Banker: the session a voice session is opened on, the
  voice session speech is recognized and synthesized in). The documents' OpenAPI links say the
  same, but schemathesis' stateful phase follows only a few of them per run (about 20 of
  Virstack's 41 links in 40 scenarios; Virtual Banker's 11 of 17 in the CI run that missed
  transcription) and never the three-step chains (agent → number → call); the other call keeps the
  generated value, so unknown ids are still sent. A pooled entry is put in only while usable: not
  ended (a successful DELETE or ``POST …/end`` named one of its ids — a number calls are made from
  also ends with its agent), and for pools of things that must be active (``ACTIVE_ONLY``: the
  number a call is made from, a catalog model) not answered or since updated ``is_active: false``
  (``INACTIVE``); Virstack keeps a number to call from only when it has an outbound trunk.
- Set-up (``PROVISIONERS``): when a consumer needs an entry of a pool none of whose entries is
  usable (none produced yet: schemathesis tests ``initiatePhoneCall`` and ``getProviderModel``
  before any import or model of the caller's succeeded), the caller's own fresh resource is
  created over plain HTTP at ``$FUZZ_BASE_URL``: a Virtual Banker voice session (with its
  session); a Virstack agent; a Virstack number to call from (an agent of its own, then
  ``importPhoneNumber``, which provisions the outbound trunk); a Virstack catalog model of a new
  provider (the caller must be a catalog administrator: the run's first organization is). These
  requests are set-up: they are not recorded (depth), and no link from schemathesis' own creates
  leads to what they create. A request whose pooled ids were answered 404 drops those entries of
  provisioned pools (``_retire``): something the hooks do not follow made them unusable (an
  inactive provider hides its models), and the next request gets an older entry or a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from livekit import api as livekit_api

ASSERTION_OPERATIONS = frozenset({"createSession"})
LIVEKIT_OPERATIONS = frozenset({"receiveLivekitWebhook"})
# Identifiers a successful DELETE, or POST …/end, removed during this run (see filter_failure).
ENDED: set[str] = set()
# A number calls are made from: its E.164 (``id``), kept only when it has an outbound trunk (a
# number registered on an inbound trunk alone cannot call out), with its document id and agent so
# that deleting either retires it (``ENDED``).
OWN_NUMBER = {"id": "/data/number", "number_id": "/data/_id", "trunk": "/data/outbound_trunk_id",
              "agent": "/data/inbound_agent_id"}
# Pools whose resources are of no use once inactive (a call is made from an active number only;
# the catalog answers active models only): an entry answered ``is_active: false`` is not kept, and
# one a 2xx update set ``is_active: false`` on (``INACTIVE``) is skipped.
ACTIVE_ONLY = frozenset({"own_number", "model"})
# Resources (the last path parameter) a 2xx update last set ``is_active: false`` on.
INACTIVE: set[str] = set()
# Producers: operationId -> [(pool, {key: JSON pointer into the 2xx body}, regex whose group 1 is the id)].
PRODUCERS: dict[str, list[tuple[str, dict[str, str], str | None]]] = {
    "createAgent": [("agent", {"id": "/data/agent_id"}, None)],
    "createSipTrunk": [("trunk", {"id": "/data/trunk_id"}, None)],
    "createDispatchRule": [("rule", {"id": "/data/dispatch_rule_id"}, None)],
    "importPhoneNumber": [("number", {"id": "/data/_id"}, None), ("own_number", OWN_NUMBER, None)],
    "purchasePhoneNumber": [("number", {"id": "/data/_id"}, None), ("own_number", OWN_NUMBER, None)],
    "adminCreateProviderModel": [("model", {"provider_id": "/data/provider_id", "model_id": "/data/model_id"}, None)],
    "synthesizeSpeech": [("audio", {"id": "/audio_url"}, r"/audio/([^/?#]+)$")],
    "createSession": [("session", {"id": "/data/session_id"}, None)],
    "createVoiceSession": [("voice_session", {"id": "/data/session_id"}, None)],
}
# Consumers: operationId -> [(where: "body" or "path", field, pool, key)]; a body field is filled
# only when the generated body has it, so optional fields stay optional.
CONSUMERS: dict[str, list[tuple[str, str, str, str]]] = {
    "importPhoneNumber": [("body", "inbound_agent_id", "agent", "id"), ("body", "outbound_agent_id", "agent", "id")],
    "purchasePhoneNumber": [("body", "inbound_agent_id", "agent", "id"), ("body", "outbound_agent_id", "agent", "id"),
                            ("body", "trunk_id", "trunk", "id"), ("body", "dispatch_rule_id", "rule", "id")],
    "updatePhoneNumber": [("path", "id", "number", "id"), ("body", "inbound_agent_id", "agent", "id"),
                          ("body", "outbound_agent_id", "agent", "id")],
    "getPhoneNumber": [("path", "id", "number", "id")],
    "deletePhoneNumber": [("path", "id", "number", "id")],
    "initiatePhoneCall": [("body", "from_number", "own_number", "id"), ("body", "override_agent_id", "agent", "id")],
    "createDispatchRule": [("body", "trunk_ids", "trunk", "id")],
    "getProviderModel": [("path", "provider_id", "model", "provider_id"), ("path", "model_id", "model", "model_id")],
    "getAudio": [("path", "audio_id", "audio", "id")],
    # Virtual Banker: a voice session is opened on the caller's session; speech needs a voice
    # session (the stateful phase's links reach transcription in some runs only)
    "createVoiceSession": [("body", "session_id", "session", "id")],
    "transcribeAudio": [("path", "sessionId", "voice_session", "id")],
    "transcribeAudioStream": [("path", "sessionId", "voice_session", "id")],
    "synthesizeSpeech": [("path", "sessionId", "voice_session", "id")],
    "synthesizeSpeechStream": [("path", "sessionId", "voice_session", "id")],
    "getVisemes": [("path", "sessionId", "voice_session", "id")],
    "getVoiceSessionStatus": [("path", "sessionId", "voice_session", "id")],
}
# caller (Authorization) -> pool -> ids, newest last
POOLS: dict[str, dict[str, list[dict[str, str]]]] = {}
CALLS: dict[str, int] = {}
# id(case) -> the (caller, pool, entry) before_call put into that request, until its after_call
FILLED: dict[int, list[tuple[str, str, dict[str, str]]]] = {}


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The unverified payload of a JWT, or None when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def _bearer(case: Any) -> str | None:
    for name, value in (case.headers or {}).items():
        if name.lower() == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value.removeprefix("Bearer ")
    return None


def _authorization(case: Any) -> str | None:
    for name, value in (case.headers or {}).items():
        if name.lower() == "authorization" and isinstance(value, str):
            return value
    return None


def _sign_livekit(case: Any, kwargs: Any) -> None:
    key, secret = os.environ.get("FUZZ_VIRSTACK_LIVEKIT_KEY"), os.environ.get("FUZZ_VIRSTACK_LIVEKIT_SECRET")
    users = json.loads(os.environ.get("FUZZ_USER_AUTH", "[]"))
    if not key or not secret or not isinstance(case.body, dict) or _authorization(case) not in users:
        return
    raw = json.dumps(case.body).encode()
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode()
    for name in [n for n in case.headers if n.lower() == "authorization"]:
        del case.headers[name]
    case.headers["Authorization"] = livekit_api.AccessToken(key, secret).with_sha256(digest).to_jwt()
    kwargs["data"] = raw


def _pointer(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


def _record_ids(case: Any, response: Any) -> None:
    """Keep the ids a producing operation's 2xx answered, in the caller's pools."""
    producers = PRODUCERS.get(_operation_id(case))
    caller = _authorization(case)
    if not producers or caller is None or not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    for pool, pointers, pattern in producers:
        if pool in ACTIVE_ONLY and _pointer(body, "/data/is_active") is False:
            continue
        entry = {}
        for key, pointer in pointers.items():
            value = _pointer(body, pointer)
            if isinstance(value, str) and pattern is not None:
                match = re.search(pattern, value)
                value = match.group(1) if match else None
            if isinstance(value, str) and value:
                entry[key] = value
        if len(entry) == len(pointers):
            POOLS.setdefault(caller, {}).setdefault(pool, []).append(entry)


def _provision_voice_session(caller: str) -> dict[str, str] | None:
    """A fresh Virtual Banker voice session of ``caller`` (a bearer JWT of one tenant and user),
    opened over HTTP at ``$FUZZ_BASE_URL`` (``createSession`` with the bearer token as
    ``auth_assertion``, then ``createVoiceSession``): ``{"id": session id}``, or None when the
    deployment refuses. These two calls are set-up, not fuzzing: they are not recorded."""
    base, token = os.environ.get("FUZZ_BASE_URL"), caller.removeprefix("Bearer ")
    claims = _jwt_claims(token)
    if not base or claims is None or not caller.startswith("Bearer "):
        return None
    body = {"tenant_id": claims.get("tenant_id"), "user_id": claims.get("sub"), "auth_assertion": token}
    try:
        with httpx.Client(base_url=base, headers={"Authorization": caller}, timeout=30) as http:
            created = http.post("/sessions", json=body)
            session_id = created.json().get("data", {}).get("session_id") if created.status_code == 201 else None
            if not isinstance(session_id, str) or http.post(
                    "/voice/sessions", json={"session_id": session_id}).status_code != 201:
                return None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return {"id": session_id}


def _virstack_client(caller: str) -> httpx.Client | None:
    base = os.environ.get("FUZZ_BASE_URL")
    return httpx.Client(base_url=base, headers={"Authorization": caller}, timeout=30) if base else None


def _created(response: httpx.Response, pointer: str) -> str | None:
    """The string at ``pointer`` in a 201's JSON body, else None."""
    value = _pointer(response.json(), pointer) if response.status_code == 201 else None
    return value if isinstance(value, str) and value else None


# The agent set-up creates: the contract's required settings only.
SETUP_AGENT = {"agent_settings": {"identity": {"agent_name": "Fuzz set-up agent"},
                                  "engine": {"type": "realtime", "provider": "gemini"},
                                  "behavior": {"system_prompt": {"persona": "You answer briefly.",
                                                                 "task": "Take the call."}}}}


def _create_agent(http: httpx.Client) -> str | None:
    return _created(http.post("/agent", json=SETUP_AGENT), "/data/agent_id")


def _provision_agent(caller: str) -> dict[str, str] | None:
    """A fresh Virstack agent of ``caller`` (``createAgent``): ``{"id": agent id}``, or None."""
    http = _virstack_client(caller)
    if http is None:
        return None
    try:
        with http:
            agent_id = _create_agent(http)
    except (httpx.HTTPError, ValueError):
        return None
    return {"id": agent_id} if agent_id else None


def _provision_own_number(caller: str) -> dict[str, str] | None:
    """A fresh Virstack number of ``caller`` to call from: an agent of its own (``createAgent``)
    answers it, and ``importPhoneNumber`` provisions its inbound and outbound trunks and its
    dispatch rule. An ``OWN_NUMBER`` entry, or None."""
    http = _virstack_client(caller)
    if http is None:
        return None
    imported = None
    try:
        with http:
            agent_id = _create_agent(http)
            for _attempt in range(3 if agent_id else 0):  # a random 11-digit E.164 is taken only by chance
                imported = http.post("/sip/phone-numbers/import", json={
                    "phone_number": f"+1{secrets.randbelow(10**10):010d}", "termination_uri": "sip.example.com",
                    "inbound_agent_id": agent_id, "nickname": "fuzz set-up"})
                if imported.status_code != 409:
                    break
            values = {} if imported is None else {key: _created(imported, ptr) for key, ptr in OWN_NUMBER.items()}
    except (httpx.HTTPError, ValueError):
        return None
    entry = {key: value for key, value in values.items() if value is not None}
    return entry if len(entry) == len(OWN_NUMBER) else None


def _provision_model(caller: str) -> dict[str, str] | None:
    """A fresh active model of a fresh active provider in Virstack's catalog
    (``adminCreateProvider``, ``adminCreateProviderModel``; ``caller`` must be a catalog
    administrator, as the run's first organization is): ``{"provider_id", "model_id"}``, or None."""
    http = _virstack_client(caller)
    if http is None:
        return None
    provider_id = model_id = f"fuzz-setup-{secrets.token_hex(4)}"
    try:
        with http:
            created = http.post("/admin/providers", json={
                "provider_id": provider_id, "display_name": "Fuzz set-up", "is_active": True})
            model = http.post(f"/admin/providers/{provider_id}/models", json={
                "model_id": model_id, "display_name": "Fuzz set-up model", "is_active": True,
            }) if _created(created, "/data/provider_id") else None
            done = model is not None and _created(model, "/data/model_id") == model_id
    except (httpx.HTTPError, ValueError):
        return None
    return {"provider_id": provider_id, "model_id": model_id} if done else None


# pool -> how to open a fresh resource of the caller's when every pooled one has ended, is inactive
# or was answered 404 (see ``_retire``): the stateful phase and other operations' coverage cases
# end sessions and delete agents (schemathesis fills their path with ids it captured);
# transcription of the documents' real WAV needs a live voice session; schemathesis tests
# initiatePhoneCall and getProviderModel before any importPhoneNumber or adminCreateProviderModel
# of the caller's succeeded, and its stateful phase never takes agent → number → call.
PROVISIONERS: dict[str, Callable[[str], dict[str, str] | None]] = {
    "voice_session": _provision_voice_session,
    "agent": _provision_agent,
    "own_number": _provision_own_number,
    "model": _provision_model,
}


def _phase(case: Any) -> str | None:
    """The schemathesis phase that generated ``case`` (``examples``, ``coverage``, ``fuzzing``,
    ``stateful``), or None when it does not say."""
    phase = getattr(getattr(getattr(case, "meta", None), "phase", None), "name", None)
    return None if phase is None else str(getattr(phase, "value", phase))


def _use_own_ids(case: Any) -> None:
    """On every other request of a consuming operation by a fuzzing user, with the operation's own
    method, put the caller's own ids where it needs them."""
    operation = _operation_id(case)
    consumers = CONSUMERS.get(operation)
    caller = _authorization(case)
    # Only requests a fuzzing user sends with the operation's own method count (not 401/405 probes).
    if (not consumers or caller is None or caller not in json.loads(os.environ.get("FUZZ_USER_AUTH", "[]"))
            or str(case.method).lower() != str(case.operation.method).lower()):
        return
    CALLS[operation] = CALLS.get(operation, 0) + 1
    # The documents' examples (a real WAV, a real SDP offer) are sent once each: those always get
    # the caller's ids, or an example that only an existing resource accepts never reaches a 2xx.
    if CALLS[operation] % 2 and _phase(case) != "examples":
        return
    for where, field, pool, key in consumers:
        if not (where == "path" and field in (case.path_parameters or {})
                or where == "body" and isinstance(case.body, dict) and field in case.body):
            continue  # an optional field the generated request lacks stays absent
        entries = [entry for entry in POOLS.get(caller, {}).get(pool, []) if _usable(pool, entry)]
        if not entries and pool in PROVISIONERS:
            fresh = PROVISIONERS[pool](caller)
            entries = [fresh] if fresh else []
            if fresh:
                POOLS.setdefault(caller, {}).setdefault(pool, []).append(fresh)
        if not entries:
            continue
        entry = entries[-1]
        FILLED.setdefault(id(case), []).append((caller, pool, entry))
        if where == "path":
            case.path_parameters[field] = entry[key]
        else:
            case.body[field] = [entry[key]] if isinstance(case.body[field], list) else entry[key]


def _usable(pool: str, entry: dict[str, str]) -> bool:
    """Whether a pooled resource may still be put into a request: not ended (deleted), and for an
    ``ACTIVE_ONLY`` pool not set inactive."""
    values = set(entry.values())
    return not ENDED & values and not (pool in ACTIVE_ONLY and INACTIVE & values)


def _retire(case: Any, response: Any) -> None:
    """After a request before_call put pooled ids into: when it was answered 404, the resources are
    not there (any more) for the caller — deleted or deactivated by requests the hooks do not
    follow (an inactive provider hides its models) — so the entries of pools a provisioner can
    replace are dropped, and the next consuming request gets an older one or a fresh one."""
    filled = FILLED.pop(id(case), [])
    if response.status_code != 404:
        return
    for caller, pool, entry in filled:
        entries = POOLS.get(caller, {}).get(pool, [])
        if pool in PROVISIONERS and entry in entries:
            entries.remove(entry)


def _track_activity(case: Any, response: Any) -> None:
    """A 2xx update (PUT, PATCH) whose body set ``is_active`` makes the updated resource — the last
    path parameter: a number, a provider, a model — inactive or active again (``INACTIVE``)."""
    active = case.body.get("is_active") if isinstance(case.body, dict) else None
    names = re.findall(r"{([^}/]+)}", str(case.path))
    if (not isinstance(active, bool) or str(case.method).upper() not in ("PUT", "PATCH") or not names
            or names[-1] not in (case.path_parameters or {}) or not 200 <= response.status_code < 300):
        return
    resource = str(case.path_parameters[names[-1]])
    if active:
        INACTIVE.discard(resource)
    else:
        INACTIVE.add(resource)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:  # noqa: ARG001
    """Fill ``auth_assertion`` (and the tenant and user it names) from the bearer JWT; sign LiveKit
    webhooks; use the caller's own resource ids where an operation needs them (``CONSUMERS``)."""
    FILLED.pop(id(case), None)
    _use_own_ids(case)
    if _operation_id(case) in LIVEKIT_OPERATIONS:
        _sign_livekit(case, kwargs)
        return
    if _operation_id(case) not in ASSERTION_OPERATIONS or not isinstance(case.body, dict):
        return
    if not isinstance(case.body.get("auth_assertion"), str):
        return
    token = _bearer(case)
    claims = _jwt_claims(token) if token else None
    if token is None or claims is None:
        return
    case.body["auth_assertion"] = token
    for field, claim in (("tenant_id", "tenant_id"), ("user_id", "sub")):
        value = claims.get(claim) or claims.get(field)
        if isinstance(value, str) and isinstance(case.body.get(field), str):
            case.body[field] = value


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:  # noqa: ARG001
    """Append ``{"operation", "status"}`` to ``$FUZZ_RECORD`` (when set); keep produced ids (``PRODUCERS``)."""
    _retire(case, response)
    _record_ids(case, response)
    _track_activity(case, response)
    method = str(case.method).upper()
    if 200 <= response.status_code < 300 and (method == "DELETE" or str(case.path).endswith("/end")):
        ENDED.update(str(v) for v in (case.path_parameters or {}).values())
    path = os.environ.get("FUZZ_RECORD")
    if not path:
        return
    line = json.dumps({"operation": _operation_id(case), "status": response.status_code})
    with open(path, "a", encoding="utf-8") as record:
        record.write(line + "\n")


def _whole_stream_is_text(case: Any, response: Any) -> bool:
    """Whether the answered status documents ``text/event-stream`` as ``schema: {type: string}``."""
    responses = case.operation.definition.raw.get("responses", {})
    declared = responses.get(str(response.status_code)) or {}
    media = (declared.get("content") or {}).get("text/event-stream") or {}
    return (media.get("schema") or {}).get("type") == "string" and "itemSchema" not in media


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:  # noqa: ARG001
    """Keep every failure except two false positives.

    - ST108 on a stream documented as one string: before OpenAPI 3.2, schemathesis reads a
      ``text/event-stream`` schema as the schema of each event; ``{type: string}`` in an OpenAPI
      3.0 document describes the whole stream as text, which every event stream is. Events are
      checked by the API's own tests.
    - ST302 (created resource not found) for an identifier a successful DELETE or ``POST …/end``
      of another path removed earlier in the run: schemathesis counts only a DELETE of the same
      path prefix as a removal, but ending a Virtual Banker session (``DELETE /sessions/{id}`` or
      ``POST /sessions/{id}/end``) also ends its voice session ``/voice/sessions/{id}``.
    """
    code = getattr(failure, "code", None)
    if code in json.loads(os.environ.get("FUZZ_IGNORED", "{}")).get(_operation_id(case), []):
        return False
    if code == "ST108" and _whole_stream_is_text(case, response):
        return False
    return not (code == "ST302" and any(str(v) in ENDED for v in (case.path_parameters or {}).values()))
