"""handlers.results.dump: optional fields left None are omitted, required nullable ones written as
null — through pydantic's exclude_none where that is the same thing, else field by field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from generated.models import serviceai, vertebro_voice, virstack_voiceai, virtual_banker
from handlers import results
from handlers.results import _prunes_like_exclude_none, dump


class Leaf(BaseModel):
    value: int | None = None


class Nullable(BaseModel):
    required_nullable: int | None
    leaf: Leaf | None = None


class Tree(BaseModel):
    leaves: list[Leaf] = []
    by_name: dict[str, Leaf] | None = None
    free: dict[str, Any] | None = None
    nested: Nullable | None = None


def test_required_nullable_fields_anywhere_keep_the_exact_pruning():
    assert _prunes_like_exclude_none(Leaf)
    assert not _prunes_like_exclude_none(Nullable)
    assert not _prunes_like_exclude_none(Tree)  # through `nested`
    tree = Tree(leaves=[Leaf()], by_name={"a": Leaf(value=1)}, free={"x": None},
                nested=Nullable(required_nullable=None))
    assert dump(tree) == {"leaves": [{}], "by_name": {"a": {"value": 1}}, "free": {"x": None},
                          "nested": {"required_nullable": None}}


def test_fast_dump_equals_the_field_by_field_pruning(monkeypatch):
    monkeypatch.setattr(results, "VERIFY_FAST_DUMP", True)
    tree = Leaf()
    assert dump(tree) == {} and dump([Leaf(value=2), Leaf()]) == [{"value": 2}, {}]


def test_most_generated_envelopes_take_the_fast_path():
    fast = [cls for module in (serviceai, vertebro_voice, virstack_voiceai, virtual_banker)
            for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == module.__name__
            and _prunes_like_exclude_none(cls)]
    assert virstack_voiceai.AgentEnvelope in fast and virstack_voiceai.AgentListEnvelope in fast
    assert len(fast) > 200
