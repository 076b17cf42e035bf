"""Security requirements of one operation, checked with the functions the API's plugin names.

An operation's ``security`` is a list of alternatives; each alternative requires every scheme it
names. For each scheme the credentials are read from the request — ``Authorization: Bearer <t>``
(``http``/``bearer``), ``Authorization: Basic <b64 user:password>`` (``http``/``basic``), or the
named header/query parameter (``apiKey``) — and handed to the plugin's function, which returns the
caller's ``token_info`` or None. The first alternative whose schemes all accept wins; the
handler may receive ``token_info`` and ``user`` (its ``sub``).

Failures, as connexion words them: no credentials for any alternative → 401 "No authorization
token provided"; credentials of the right kind but rejected → 401 "Provided authorization is
not valid"; a malformed header → 401 "Invalid authorization header"; an error a function raises
(e.g. a 403 or 503 :class:`~handlers.errors.ApiError`) — the most specific one (403, then 401,
then the lowest status) is answered.
"""

from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handlers.errors import ApiError

NO_CREDENTIALS = "No authorization token provided"
REJECTED = "Provided authorization is not valid"
MALFORMED = "Invalid authorization header"


class _Absent:
    """The request carries no credentials of this scheme's kind."""


ABSENT = _Absent()


def unauthorized(message: str) -> ApiError:
    """A 401 in the API's envelope."""
    return ApiError(401, "UNAUTHORIZED", message)


@dataclass(frozen=True, slots=True)
class Scheme:
    """One security scheme bound to its check function."""

    name: str
    kind: str
    location: str
    parameter: str
    function: Callable[..., Any]
    wants_scopes: bool

    @classmethod
    def compile(cls, name: str, spec: Mapping[str, Any], function: Callable[..., Any]) -> Scheme:
        """From an OpenAPI Security Scheme Object and the plugin's function."""
        kind = str(spec.get("scheme", "") if spec.get("type") == "http" else spec.get("type")).lower()
        try:
            wants_scopes = "required_scopes" in inspect.signature(function).parameters
        except (TypeError, ValueError):
            wants_scopes = False
        return cls(name, kind, str(spec.get("in", "header")), str(spec.get("name", "Authorization")), function,
                   wants_scopes)

    def credentials(self, headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[Any, ...] | _Absent:
        """The arguments for the function, or :data:`ABSENT`; raises 401 for a malformed header."""
        if self.kind in ("bearer", "basic"):
            authorization = headers.get("authorization")
            if not authorization:
                return ABSENT
            parts = authorization.split(None, 1)
            if len(parts) != 2:
                raise unauthorized(MALFORMED)
            kind, value = parts[0].lower(), parts[1]
            if kind != self.kind:
                return ABSENT
            if kind == "bearer":
                return (value,)
            try:
                username, password = base64.b64decode(value, validate=False).decode("latin1").split(":", 1)
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise unauthorized(MALFORMED) from None
            return (username, password)
        if self.kind == "apikey":
            source = query if self.location == "query" else headers
            key = self.parameter if self.location == "query" else self.parameter.lower()
            found = source.get(key)
            return ABSENT if not found else (found,)
        return ABSENT

    async def check(self, arguments: tuple[Any, ...]) -> dict[str, Any]:
        """The caller's token_info; raises 401 when the function rejects the credentials."""
        result = self.function(*arguments, required_scopes=None) if self.wants_scopes else self.function(*arguments)
        while inspect.isawaitable(result):
            result = await result
        if result is None:
            raise unauthorized(REJECTED)
        return dict(result)


@dataclass(frozen=True, slots=True)
class Requirement:
    """An operation's security: alternatives, each a tuple of schemes that must all accept."""

    alternatives: tuple[tuple[Scheme, ...], ...]

    @property
    def open(self) -> bool:
        """True when the operation needs no credentials (no requirement, or an empty alternative)."""
        return not self.alternatives or any(not alt for alt in self.alternatives)

    async def authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any] | None:
        """``token_info`` of the first satisfied alternative (None for an open operation).

        Raises :class:`ApiError` (401, or what a check function raised) otherwise.
        """
        if self.open:
            return None
        errors: list[ApiError] = []
        for alternative in self.alternatives:
            try:
                info = await _all_of(alternative, headers, query)
            except ApiError as exc:
                errors.append(exc)
                continue
            if info is not None:
                return info
        if not errors:
            raise unauthorized(NO_CREDENTIALS)
        for status in (403, 401):
            for error in errors:
                if error.status == status:
                    raise error
        raise min(errors, key=lambda e: e.status)


async def _all_of(schemes: tuple[Scheme, ...], headers: Mapping[str, str],
                  query: Mapping[str, str]) -> dict[str, Any] | None:
    """The merged token_info when every scheme accepts; None when one finds no credentials."""
    merged: dict[str, Any] = {}
    for scheme in schemes:
        arguments = scheme.credentials(headers, query)
        if isinstance(arguments, _Absent):
            return None
        info = await scheme.check(arguments)
        if len(schemes) == 1:
            return info
        merged[scheme.name] = info
    return merged


AsyncCheck = Callable[..., Awaitable[Any]]
