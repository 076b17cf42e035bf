"""Request routing from the contract's path items: method + path → operation and path parameters.

Static paths are a dictionary lookup; templated ones (``/v1/sessions/{sessionId}``) are tried in
order of specificity (more literal segments first), one segment per parameter. A path that
matches a path item but not its method is a :class:`MethodNotAllowed` carrying the ``Allow`` list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """The operation a request reached and its path parameters (strings of the path the server
    percent-decoded once)."""

    target: T
    path_params: dict[str, str]
    template: str


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path exists, the method does not: ``allowed`` upper-case methods."""

    allowed: tuple[str, ...]
    template: str


class Router(Generic[T]):
    """Routes ``(method, path)`` to the ``T`` registered for a path template and method."""

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        by_template: dict[str, dict[str, T]] = {}
        for template, method, target in routes:
            by_template.setdefault(template, {})[method.upper()] = target
        self._static: dict[str, tuple[str, dict[str, T]]] = {}
        dynamic: list[tuple[int, re.Pattern[str], str, dict[str, T]]] = []
        for template, methods in by_template.items():
            if "{" not in template:
                self._static[template] = (template, methods)
                continue
            literal = sum(1 for part in template.split("/") if part and "{" not in part)
            pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", lambda m: f"(?P<{_group(m.group(1))}>[^/]+)",
                                   re.escape(template)) + "$"
            dynamic.append((-literal, re.compile(pattern), template, methods))
        dynamic.sort(key=lambda item: item[0])
        self._dynamic = [(pattern, template, methods) for _, pattern, template, methods in dynamic]
        self._names = {template: {_group(n): n for n in re.findall(r"\{([^}]+)\}", template)}
                       for template in by_template}

    def route(self, method: str, path: str) -> Match[T] | MethodNotAllowed | None:
        """The match, a :class:`MethodNotAllowed`, or None when no path item matches."""
        static = self._static.get(path)
        params: dict[str, str] = {}
        if static is not None:
            template, methods = static
        else:
            for pattern, candidate, candidate_methods in self._dynamic:
                found = pattern.match(path)
                if found is not None:
                    template, methods = candidate, candidate_methods
                    names = self._names[template]
                    # the server already percent-decoded scope["path"]: decoding again would turn
                    # "%2541" into "A" (a double-decoding bypass)
                    params = {names[k]: v for k, v in found.groupdict().items()}
                    break
            else:
                return None
        target = methods.get(method)
        if target is None:
            if method == "HEAD" and "GET" in methods:
                return Match(methods["GET"], params, template)
            return MethodNotAllowed(tuple(methods), template)
        return Match(target, params, template)


def _group(name: str) -> str:
    """A regex group name for a path parameter name (``sessionId`` → ``sessionId``; ``a-b`` → ``a_b_``)."""
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if cleaned == name else cleaned + "_"
