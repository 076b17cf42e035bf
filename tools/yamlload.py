"""A YAML loader that refuses silent data loss.

PyYAML's ``safe_load`` keeps the *last* value when a mapping repeats a key, so a
document such as seed 000 (which repeats ``content`` twice at one level) silently
loses a media type. :func:`load_yaml` detects every duplicate key. Duplicates are an
error unless the caller lists their location as expected, in which case the
repeated maps are kept for the caller to repair (see :mod:`tools.repair`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class DuplicateKeyError(ValueError):
    """Raised when a mapping repeats a key at a location nobody declared as expected."""


@dataclass(frozen=True)
class Duplicate:
    """One repeated key: its JSON-pointer-like location and every value it had, in order."""

    path: tuple[Any, ...]
    key: Any
    values: tuple[Any, ...]

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer of the repeated key."""
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in (*self.path, self.key))


@dataclass
class LoadResult:
    """The parsed document (last value wins, as YAML readers do) and the duplicates found."""

    document: Any
    duplicates: list[Duplicate] = field(default_factory=list)


class _Marked(dict[Any, Any]):
    """A dict that remembers repeated keys seen while it was built."""

    __slots__ = ("repeats",)

    def __init__(self) -> None:
        super().__init__()
        self.repeats: dict[str, list[Any]] = {}


class _DupLoader(yaml.SafeLoader):
    """SafeLoader that records repeated mapping keys instead of overwriting silently, and
    keeps timestamps as strings (OpenAPI examples are JSON values, not datetimes)."""


_DupLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _DupLoader, node: yaml.MappingNode) -> _Marked:
    # flatten_mapping() moves the pairs of `<<: *anchor` merge keys in front of the mapping's
    # own pairs; an own key overriding a merged one is YAML's merge semantics, not a duplicate.
    own = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
    loader.flatten_mapping(node)
    merged_count = len(node.value) - own
    result = _Marked()
    own_keys: set[Any] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        if index >= merged_count:
            if key in own_keys:
                result.repeats.setdefault(key, [result[key]]).append(value)
            own_keys.add(key)
        result[key] = value
    return result


_DupLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _plain(node: Any, path: tuple[Any, ...], found: list[Duplicate]) -> Any:
    """Convert _Marked dicts to plain dicts, collecting duplicates with their paths.

    Paths keep the document's own keys (an unquoted ``200`` stays an int) and list indices,
    so a caller can walk them; every repeated value is itself searched for repeats.
    """
    if isinstance(node, _Marked):
        plain = {k: _plain(v, (*path, k), found) for k, v in node.items()}
        for key, values in node.repeats.items():
            earlier = tuple(_plain(v, (*path, key), found) for v in values[:-1])
            found.append(Duplicate(path, key, (*earlier, plain[key])))
        return plain
    if isinstance(node, list):
        return [_plain(v, (*path, i), found) for i, v in enumerate(node)]
    return node


def load_yaml(source: str | Path, *, expected_duplicates: frozenset[str] | set[str] = frozenset()) -> LoadResult:
    """Parse YAML text (or a file path) and report repeated mapping keys.

    ``expected_duplicates`` holds JSON pointers (``/paths/~1a/post/requestBody/content``)
    where a repeated key is known and will be repaired by the caller.

    Raises :class:`DuplicateKeyError` naming the location of any other repeated key,
    and ``yaml.YAMLError`` for YAML that does not parse.
    """
    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) else source
    found: list[Duplicate] = []
    document = _plain(yaml.load(text, Loader=_DupLoader), (), found)  # noqa: S506 - SafeLoader subclass
    unexpected = [d.pointer for d in found if d.pointer not in expected_duplicates]
    if unexpected:
        raise DuplicateKeyError(f"repeated mapping key(s) at {', '.join(unexpected)}")
    return LoadResult(document, found)


def load_file(path: str | Path, *, expected_duplicates: frozenset[str] | set[str] = frozenset()) -> LoadResult:
    """:func:`load_yaml` for a file path."""
    return load_yaml(Path(path), expected_duplicates=expected_duplicates)
