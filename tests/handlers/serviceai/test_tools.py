"""Chatty Voice tools: the catalogue and the executor, as a voice client drives them."""

from __future__ import annotations

from generated.models.serviceai import ChattyToolDefinition
from tests.handlers.serviceai.conftest import ORG, execute, run

EXPECTED = ["lookup_entity", "search_knowledge_base", "create_ticket", "list_tickets", "create_note", "list_notes",
            "update_job_stage", "navigate"]


def test_catalogue_is_a_bare_array_of_definitions(client, alice):
    r = client.get("/api/chatty-voice/tools", headers=alice)
    assert r.status_code == 200
    tools = r.json()
    assert isinstance(tools, list)
    assert [t["function"]["name"] for t in tools] == EXPECTED
    for tool in tools:
        ChattyToolDefinition.model_validate(tool)
        assert tool["type"] == "function" and tool["function"]["description"]
        params = tool["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])


def test_lookup_entity(client, alice, dataset):
    found = execute(client, alice, "lookup_entity", {"query": "smith"})
    assert found["success"] is True
    names = [m["name"] for m in found["data"]["matches"]]
    assert names[0] == "Jane Smith" and "Smith kitchen remodel" in names
    assert "Smithson Bakery Ltd" in names  # substring match ranks after whole-word matches
    assert names.index("Smithson Bakery Ltd") > names.index("Smith kitchen remodel")
    by_ref = execute(client, alice, "lookup_entity", {"query": "J-1042"})
    assert [m["id"] for m in by_ref["data"]["matches"]] == ["job_1042"]
    assert by_ref["message"] == "Found job Smith kitchen remodel (J-1042), stage lead."
    jobs = execute(client, alice, "lookup_entity", {"query": "smith", "entityType": "job"})
    assert [m["type"] for m in jobs["data"]["matches"]] == ["job"]
    plural = execute(client, alice, "lookup_entity", {"query": "smith", "entityType": "Customers"})
    assert [m["id"] for m in plural["data"]["matches"]] == ["cus_smith", "cus_smithson"]
    customer = execute(client, alice, "lookup_entity", {"query": "jane smith", "limit": 1})["data"]["matches"]
    assert customer == [{"id": "cus_smith", "type": "customer", "name": "Jane Smith", "reference": "C-100",
                         "attributes": {"phone": "+44 20 7946 0001", "city": "Leeds"},
                         "updatedAt": customer[0]["updatedAt"]}]
    none = execute(client, alice, "lookup_entity", {"query": "zebra"})
    assert none["success"] is True and none["data"]["count"] == 0 and none["message"] == "No record matches 'zebra'."


def test_tickets_are_persisted_and_listable(client, alice, make_user, dataset):
    created = execute(client, alice, "create_ticket", {"title": "Leaking tap", "description": "Kitchen tap drips",
                                                        "priority": "high", "entityId": "cus_smith"})
    assert created["success"] is True
    ticket = created["data"]
    assert ticket["id"].startswith("tkt_") and ticket["status"] == "open" and ticket["createdBy"] == "alice"
    assert created["message"] == f"Created ticket {ticket['id']}: Leaking tap (high priority)."
    second = execute(client, alice, "create_ticket", {"title": "Quote follow-up"})["data"]
    assert second["priority"] == "normal" and "entityId" not in second

    listed = execute(client, alice, "list_tickets", {})
    assert [t["id"] for t in listed["data"]["tickets"]] == [second["id"], ticket["id"]]  # newest first
    of_smith = execute(client, alice, "list_tickets", {"entityId": "cus_smith"})
    assert [t["id"] for t in of_smith["data"]["tickets"]] == [ticket["id"]]
    assert execute(client, alice, "list_tickets", {"status": "closed"})["data"]["count"] == 0
    # another user of the same organisation sees them; another organisation does not
    assert execute(client, make_user("bea"), "list_tickets")["data"]["count"] == 2
    assert execute(client, make_user("zed", org="other-org"), "list_tickets")["data"]["count"] == 0


def test_notes(client, alice, dataset):
    note = execute(client, alice, "create_note", {"content": "Customer prefers mornings.", "entityId": "cus_okafor"})
    assert note["success"] and note["message"] == "Saved the note on customer Chidi Okafor (C-102)."
    assert note["data"]["entityId"] == "cus_okafor" and note["data"]["authorId"] == "alice"
    execute(client, alice, "create_note", {"content": "General reminder"})
    assert execute(client, alice, "list_notes", {"entityId": "cus_okafor"})["data"]["count"] == 1
    everything = execute(client, alice, "list_notes", {"limit": 5})["data"]["notes"]
    assert [n["content"] for n in everything] == ["General reminder", "Customer prefers mornings."]


def test_navigate_returns_an_action(client, alice, dataset):
    page = execute(client, alice, "navigate", {"page": "schedule"})
    assert page == {"success": True, "message": "Opening schedule.", "data": {"route": "/schedule"},
                    "action": {"type": "navigate", "route": "/schedule", "page": "schedule"}}
    record = execute(client, alice, "navigate", {"entityId": "job_1042"})
    assert record["action"] == {"type": "navigate", "route": "/jobs/job_1042", "page": "jobs", "entityId": "job_1042"}
    bad = execute(client, alice, "navigate", {"page": "nowhere"})
    assert bad["success"] is False and bad["code"] == "INVALID_ARGUMENTS"
    missing = execute(client, alice, "navigate", {"entityId": "job_nope"})
    assert missing["success"] is False and missing["code"] == "NOT_FOUND"
    assert execute(client, alice, "navigate", {})["code"] == "INVALID_ARGUMENTS"


def test_update_job_stage(client, make_user, dataset, sai):
    manager = make_user("mona", role="manager")
    moved = execute(client, manager, "update_job_stage", {"jobId": "job_1042", "stage": "Site survey"})
    assert moved["success"] and moved["data"]["previousStage"] == "lead" and moved["data"]["stage"] == "survey"
    assert run(sai.records.get_entity(ORG, "job_1042")).stage == "survey"
    again = execute(client, manager, "update_job_stage", {"jobId": "job_1042", "stage": "survey"})
    assert again["message"] == "Job Smith kitchen remodel is already at stage Site survey."
    unknown = execute(client, manager, "update_job_stage", {"jobId": "job_1042", "stage": "invoiced"})
    assert unknown["code"] == "INVALID_ARGUMENTS" and "Site survey (survey)" in unknown["error"]
    not_a_job = execute(client, manager, "update_job_stage", {"jobId": "cus_smith", "stage": "done"})
    assert not_a_job["code"] == "INVALID_ARGUMENTS"


def test_permission_denials_are_200_with_code(client, make_user, dataset, sai):
    viewer = make_user("vic", role="viewer")
    denied = execute(client, viewer, "create_ticket", {"title": "x"})
    assert denied == {"success": False, "code": "PERMISSION_DENIED",
                      "error": "You do not have permission to use create_ticket (requires tickets:write)."}
    assert run(sai.records.list_tickets(ORG)) == []
    member = make_user("meg")  # member: no jobs:write
    assert execute(client, member, "update_job_stage", {"jobId": "job_1042", "stage": "done"})["code"] == \
        "PERMISSION_DENIED"
    assert run(sai.records.get_entity(ORG, "job_1042")).stage == "lead"
    granted = make_user("meg", permissions=("jobs:write",))
    assert execute(client, granted, "update_job_stage", {"jobId": "job_1042", "stage": "done"})["success"] is True
    nobody = make_user("nil", role="no-such-role")
    assert execute(client, nobody, "lookup_entity", {"query": "smith"})["code"] == "PERMISSION_DENIED"
    assert execute(client, nobody, "navigate", {"page": "jobs"})["success"] is True  # navigate needs no permission


def test_unknown_missing_and_legacy_function(client, alice, dataset):
    unknown = execute(client, alice, "launch_rocket", {})
    assert unknown["success"] is False and unknown["code"] == "UNKNOWN_FUNCTION"
    assert "launch_rocket" in unknown["error"]
    for body in ({}, {"arguments": {"query": "smith"}}):
        r = client.post("/api/chatty-voice/tools/execute", json=body, headers=alice)
        assert r.status_code == 200 and r.json()["code"] == "UNKNOWN_FUNCTION"
    no_body = client.post("/api/chatty-voice/tools/execute", headers=alice)
    assert no_body.status_code == 200 and no_body.json()["code"] == "UNKNOWN_FUNCTION"
    legacy = execute(client, alice, None, {"query": "J-1043"}, name="lookup_entity")
    assert legacy["success"] and legacy["data"]["matches"][0]["id"] == "job_1043"
    both = execute(client, alice, "navigate", {"page": "jobs"}, name="lookup_entity")
    assert both["action"]["route"] == "/jobs"  # canonical `function` wins


def test_invalid_arguments(client, alice, sai):
    for function, arguments, fragment in [
        ("lookup_entity", {}, "'query' is a required property"),
        ("lookup_entity", {"query": 5}, "query: 5 is not of type 'string'"),
        ("lookup_entity", {"query": "x", "limit": 99}, "limit: 99 is greater than the maximum of 10"),
        ("create_ticket", {"title": "x", "priority": "whenever"}, "priority: 'whenever' is not one of"),
        ("create_ticket", {"title": "x", "colour": "red"}, "Additional properties are not allowed"),
        ("create_ticket", {"title": "   "}, "title must not be empty"),
        ("create_ticket", {"title": "x" * 201}, "is too long"),
    ]:
        result = execute(client, alice, function, arguments)
        assert result["success"] is False and result["code"] == "INVALID_ARGUMENTS"
        assert fragment in result["error"], result["error"]
    assert run(sai.records.list_tickets(ORG)) == []


def test_records_of_another_organisation_are_invisible(client, make_user, dataset):
    outsider = make_user("olga", org="other-org")
    assert execute(client, outsider, "lookup_entity", {"query": "smith"})["data"]["count"] == 0
    assert execute(client, outsider, "create_note", {"content": "x", "entityId": "cus_smith"})["code"] == "NOT_FOUND"
    assert execute(client, outsider, "navigate", {"entityId": "job_1042"})["code"] == "NOT_FOUND"


def test_executor_fault_is_500_in_the_executor_envelope(client, alice, sai, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(sai.records, "search_entities", broken)
    r = client.post("/api/chatty-voice/tools/execute", json={"function": "lookup_entity",
                                                             "arguments": {"query": "smith"}}, headers=alice)
    assert r.status_code == 500
    assert r.json() == {"success": False, "code": "EXECUTOR_ERROR",
                        "error": "The lookup_entity tool failed unexpectedly; try again later."}
    assert "fire" not in r.text


def test_contract_violations_are_400(client, alice):
    for body in [{"function": ""}, {"name": ""}, {"function": 5}, {"arguments": []}, {"arguments": "x"}, [], "text"]:
        r = client.post("/api/chatty-voice/tools/execute", json=body, headers=alice)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_search_knowledge_base(client, alice, dataset, make_user):
    hit = execute(client, alice, "search_knowledge_base", {"query": "how much is an emergency call-out"})
    assert hit["success"] and hit["data"]["results"][0]["title"] == "Call-out fees"
    assert "150 GBP" in hit["message"]
    warranty = execute(client, alice, "search_knowledge_base", {"query": "boiler warranty years"})
    assert warranty["data"]["results"][0]["title"] == "Boiler warranty"
    nothing = execute(client, alice, "search_knowledge_base", {"query": "quantum"})
    assert nothing["data"]["count"] == 0 and nothing["message"] == "Nothing in the knowledge base matches 'quantum'."
    empty = execute(client, make_user("ned", org="empty-org"), "search_knowledge_base", {"query": "fees"})
    assert empty["message"] == "The knowledge base is empty."


def test_catalogue_keeps_every_schema_keyword(client, alice):
    # The typed answer must not strip what ChattyToolParameterProperty leaves open (maxLength, minimum, …).
    from handlers.serviceai.toolkit import TOOLS

    tools = client.get("/api/chatty-voice/tools", headers=alice).json()
    assert tools == [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                       "parameters": t.parameters}} for t in TOOLS.values()]
    create_ticket = next(t for t in tools if t["function"]["name"] == "create_ticket")
    assert create_ticket["function"]["parameters"]["properties"]["title"]["maxLength"] == 200
