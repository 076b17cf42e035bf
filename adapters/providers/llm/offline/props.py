"""What a schema property asks for, read from its name, description and title (``_Prop``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.providers.llm.offline.concepts import _Concept, _concepts_for
from adapters.providers.llm.offline.sentences import _AGENT_LABELS, _CUSTOMER_LABELS
from adapters.providers.llm.offline.text import _content_stems, _name_words, _stem, _tokens


def _wants(words: Sequence[str], vocabulary: set[str]) -> bool:
    return bool(set(words) & vocabulary)


@dataclass
class _Prop:
    """What a property name/description asks for."""

    name: str
    path: tuple[str, ...]
    words: list[str]  # name words, singular
    path_words: set[str]
    stems: set[str]  # content stems of name + description + title
    concepts: list[_Concept] = field(default_factory=list)
    fmt: str | None = None
    desc_stems: set[str] = field(default_factory=set)  # content stems of the description + title only

    @property
    def role(self) -> str | None:
        if self.path_words & (_AGENT_LABELS | {"agent", "operator"}):
            return "agent"
        if self.path_words & _CUSTOMER_LABELS:
            return "customer"
        return None


def _prop(name: str, schema: Mapping[str, Any], parent: _Prop) -> _Prop:
    """The ``_Prop`` of property ``name`` (its resolved ``schema``) inside ``parent``."""
    words = _name_words(name)
    described = " ".join(str(schema.get(k, "")) for k in ("description", "title") if isinstance(schema.get(k), str))
    desc_stems = set(_content_stems(_tokens(described)))
    stems = set(_content_stems(words)) | desc_stems
    path_words = set(parent.path_words) | set(words)
    concepts = _concepts_for(set(_content_stems(words)) | set(_stem(w) for w in words)) or _concepts_for(stems)
    fmt = schema.get("format") if isinstance(schema.get("format"), str) else None
    return _Prop(name, parent.path + (name,), words, path_words, stems, concepts, fmt, desc_stems)
