"""tools.overlay: Overlay 1.0 update/append/remove semantics and error reporting."""

from __future__ import annotations

import copy

import pytest

from tools.overlay import OverlayError, apply_overlay, deep_merge


def _doc():
    return {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1", "contact": {"name": "a", "email": "a@x"}},
        "tags": [{"name": "one"}, {"name": "two"}, {"name": "three"}],
        "paths": {
            "/a": {
                "get": {
                    "operationId": "getA",
                    "parameters": [{"name": "p", "in": "query"}],
                    "responses": {"200": {"description": "ok"}},
                },
                "post": {"operationId": "postA", "responses": {"200": {"description": "ok"}}},
            },
            "/b": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }


def _overlay(*actions, version="1.0.0"):
    return {"overlay": version, "info": {"title": "o", "version": "1"}, "actions": list(actions)}


def test_deep_merge_objects_recursively_and_replaces_other_values():
    target = {"a": {"x": 1, "y": {"z": 1}}, "list": [1, 2], "s": "old", "keep": True}
    update = {"a": {"y": {"w": 2}, "n": 3}, "list": [3], "s": "new", "added": {"k": [1]}}
    deep_merge(target, update)
    assert target == {
        "a": {"x": 1, "y": {"z": 1, "w": 2}, "n": 3},
        "list": [3],
        "s": "new",
        "keep": True,
        "added": {"k": [1]},
    }
    # values are copied, not shared with the update
    update["added"]["k"].append(2)
    assert target["added"] == {"k": [1]}


def test_deep_merge_replaces_object_with_scalar_and_scalar_with_object():
    target = {"a": {"x": 1}, "b": 1}
    deep_merge(target, {"a": 5, "b": {"y": 2}})
    assert target == {"a": 5, "b": {"y": 2}}


def test_update_on_object_deep_merges():
    result = apply_overlay(
        _doc(),
        _overlay(
            {
                "target": "$.info",
                "update": {"contact": {"email": "b@x"}, "description": "d"},
            },
            {
                "target": "$.paths['/a'].get",
                "update": {"parameters": [{"name": "q", "in": "header"}], "responses": {"404": {"description": "nf"}}},
            },
        ),
    )
    assert result["info"] == {
        "title": "T",
        "version": "1",
        "contact": {"name": "a", "email": "b@x"},
        "description": "d",
    }
    get = result["paths"]["/a"]["get"]
    # arrays inside an object update replace the old array
    assert get["parameters"] == [{"name": "q", "in": "header"}]
    assert get["responses"] == {"200": {"description": "ok"}, "404": {"description": "nf"}}


def test_update_applies_to_every_match():
    result = apply_overlay(_doc(), _overlay({"target": "$.paths.*.get", "update": {"x-seen": True}}))
    assert result["paths"]["/a"]["get"]["x-seen"] is True
    assert result["paths"]["/b"]["get"]["x-seen"] is True
    assert "x-seen" not in result["paths"]["/a"]["post"]


def test_update_on_array_appends():
    result = apply_overlay(
        _doc(),
        _overlay(
            {"target": "$.tags", "update": {"name": "four"}},
            {"target": "$.paths['/a'].get.parameters", "update": {"name": "r", "in": "query"}},
        ),
    )
    assert [t["name"] for t in result["tags"]] == ["one", "two", "three", "four"]
    assert result["paths"]["/a"]["get"]["parameters"] == [
        {"name": "p", "in": "query"},
        {"name": "r", "in": "query"},
    ]


def test_appended_value_is_a_copy():
    overlay = _overlay({"target": "$.tags", "update": {"name": "four"}})
    result = apply_overlay(_doc(), overlay)
    result["tags"][-1]["name"] = "mutated"
    assert overlay["actions"][0]["update"] == {"name": "four"}


def test_remove_object_member():
    result = apply_overlay(_doc(), _overlay({"target": "$.paths['/a'].post", "remove": True}))
    assert "post" not in result["paths"]["/a"]
    assert "get" in result["paths"]["/a"]


def test_remove_several_array_elements_keeps_indices_valid():
    result = apply_overlay(_doc(), _overlay({"target": "$.tags[?@.name != 'two']", "remove": True}))
    assert result["tags"] == [{"name": "two"}]


def test_actions_apply_in_order():
    result = apply_overlay(
        _doc(),
        _overlay(
            {"target": "$.info", "update": {"x-step": 1}},
            {"target": "$.info", "update": {"x-step": 2}},
            {"target": "$.info['x-step']", "remove": True},
        ),
    )
    assert "x-step" not in result["info"]


def test_empty_target_raises_naming_action_index():
    overlay = _overlay(
        {"target": "$.info", "update": {"description": "fine"}},
        {"target": "$.paths['/missing'].get", "update": {"operationId": "x"}},
    )
    with pytest.raises(OverlayError) as info:
        apply_overlay(_doc(), overlay, name="fix.yaml")
    message = str(info.value)
    assert "fix.yaml" in message
    assert "action 1" in message
    assert "/missing" in message


def test_empty_remove_target_raises():
    with pytest.raises(OverlayError, match="action 0"):
        apply_overlay(_doc(), _overlay({"target": "$.components", "remove": True}))


@pytest.mark.parametrize(
    "overlay",
    [
        {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}},
        {"info": {}, "actions": []},
        {"overlay": "2.0.0", "actions": []},
    ],
)
def test_non_overlay_document_rejected(overlay):
    with pytest.raises(OverlayError, match="not an Overlay 1.x"):
        apply_overlay(_doc(), overlay, name="bad.yaml")


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ({"update": {"a": 1}}, "action 0 has no target"),
        ({"target": "$.info"}, "neither update nor remove"),
        ({"target": "$.info.title", "update": {"a": 1}}, "is a scalar"),
        ({"target": "$.info", "update": [1]}, "non-object"),
    ],
)
def test_malformed_actions_rejected(action, fragment):
    with pytest.raises(OverlayError, match=fragment):
        apply_overlay(_doc(), _overlay(action))


def test_input_document_and_overlay_not_mutated():
    document = _doc()
    before = copy.deepcopy(document)
    overlay = _overlay(
        {"target": "$.info", "update": {"contact": {"email": "new"}}},
        {"target": "$.tags", "update": {"name": "four"}},
        {"target": "$.paths['/a'].post", "remove": True},
        {"target": "$.paths['/a'].get.parameters", "update": {"name": "r"}},
    )
    overlay_before = copy.deepcopy(overlay)
    result = apply_overlay(document, overlay)
    assert document == before
    assert overlay == overlay_before
    assert result != before
    # and the result shares no mutable structure with the input
    result["paths"]["/b"]["get"]["responses"]["200"]["description"] = "changed"
    assert document["paths"]["/b"]["get"]["responses"]["200"]["description"] == "ok"


def test_overlay_without_actions_returns_equal_copy():
    document = _doc()
    result = apply_overlay(document, {"overlay": "1.0.0", "info": {"title": "o", "version": "1"}})
    assert result == document
    assert result is not document
