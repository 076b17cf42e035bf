"""The ServiceAi client-version handshake and the ``chatty-voice`` entitlement gate.

Clients send their app build as ``X-Client-Version`` (semver; ``MAJOR[.MINOR[.PATCH]]`` with
optional ``-prerelease`` and ``+build``, missing parts count as 0 — the contract's pattern
rejects anything else with 400). Against ``minClientVersion`` (setting
``SERVICEAI_MIN_CLIENT_VERSION``, default 1.0.0):

* header absent → allowed, no hint;
* client MAJOR below minClientVersion's MAJOR → **426** ``UpgradeRequiredEnvelope``
  (``{error: {code: UPGRADE_REQUIRED, message}, apiVersion, minClientVersion, clientVersion}``);
* same MAJOR but older (minor, patch or a pre-release of it) → allowed, and the response carries
  the soft-upgrade hint ``X-Upgrade-Available: <minClientVersion>``;
* otherwise → allowed, no hint.

``apiVersion`` is the contract's own ``info.version`` (1.1.24): the server reports the version
of the contract it implements. Order of checks on a chatty operation: 401 (no or bad token,
connexion security) → 400 (request breaks the contract) → 426 (outdated client) → 403 (no
``chatty-voice`` entitlement) → the operation.

Success convention of ServiceAi (every success of its contract is a 200 that may carry the hint):
a handler returns its generated 200 model bare (a bare array, or a 200 with headers of its own,
as :class:`~handlers.results.Reply`; the SDP answer as a Starlette ``Response``); the gate
(:func:`chatty`, :func:`with_hint`) adds ``X-Upgrade-Available`` and answers the 426 itself.
Non-200 bodies the contract declares (426, 500, 502) are ``Reply(model, status)``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ParamSpec, TypeVar

import yaml
from pydantic import BaseModel
from starlette.responses import Response

from core.settings import ROOT
from generated.models.serviceai import Code, Error1, UpgradeRequiredEnvelope
from handlers.errors import ApiError
from handlers.request import request
from handlers.results import Reply
from handlers.serviceai.bundle import bundle

ENTITLEMENT = "chatty-voice"
CLIENT_VERSION_HEADER = "X-Client-Version"
UPGRADE_HINT_HEADER = "X-Upgrade-Available"
CONTRACT = ROOT / "generated" / "apis" / "serviceai.openapi.yaml"

P = ParamSpec("P")
R = TypeVar("R", bound=BaseModel | Reply | Response)

_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

PreKey = tuple[int] | tuple[int, tuple[tuple[int, int, str], ...]]


@dataclass(frozen=True)
class Version:
    """A parsed semver (build metadata dropped: it does not affect precedence)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{'.'.join(self.prerelease)}" if self.prerelease else text

    def _pre_key(self) -> PreKey:
        # A release ranks above any of its pre-releases; identifiers compare numerically when
        # numeric, lexically otherwise, numeric below alphanumeric (semver 2.0.0 §11).
        if not self.prerelease:
            return (1,)
        return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease))

    def key(self) -> tuple[int, int, int, PreKey]:
        """The precedence key: versions sort by it as semver 2.0.0 orders them."""
        return (self.major, self.minor, self.patch, self._pre_key())

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()


@lru_cache(maxsize=256)
def parse_version(text: str) -> Version | None:
    """``"1.2.3-beta.1+45"`` → ``Version(1, 2, 3, ("beta", "1"))``; None when not a semver.

    Remembered for the 256 most recent texts (a ServiceAi request parses its ``X-Client-Version``
    and the minimum version; a fleet of clients sends a handful of values, so the regular
    expression ran on ~5% of ``GET /api/version``'s CPU). ``Version`` is immutable, so sharing it is
    safe, and the bounded cache cannot be grown by callers sending new values."""
    match = _SEMVER.match(text.strip()) if text else None
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())


@lru_cache(maxsize=1)
def api_version() -> str:
    """``info.version`` of the ServiceAi contract this server implements (e.g. ``"1.1.24"``)."""
    with CONTRACT.open(encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)["info"]["version"])


def min_client_version() -> str:
    """The ``SERVICEAI_MIN_CLIENT_VERSION`` setting (MAJOR.MINOR.PATCH, validated at start-up)."""
    return bundle().settings.serviceai_min_client_version


@dataclass(frozen=True)
class Handshake:
    """Outcome for one request: the 426 body to answer instead, or headers to add to the answer."""

    refusal: UpgradeRequiredEnvelope | None
    headers: dict[str, str]


def handshake(client_version: str | None) -> Handshake:
    """Apply the rules of this module to the ``X-Client-Version`` value (None when absent).

    Raises :class:`ApiError` 400 ``VALIDATION_ERROR`` when the value is not a semver (the
    contract's pattern normally rejects it before any handler runs).
    """
    if client_version is None:
        return Handshake(None, {})
    client = parse_version(client_version)
    if client is None:
        raise ApiError(400, "VALIDATION_ERROR", f"{CLIENT_VERSION_HEADER} is not a valid semver: {client_version!r}")
    minimum_text = min_client_version()
    minimum = parse_version(minimum_text)
    assert minimum is not None  # the setting is validated at start-up
    if client.major < minimum.major:
        refusal = UpgradeRequiredEnvelope(
            error=Error1(code=Code.UPGRADE_REQUIRED,
                         message=f"Client version {client_version} is no longer supported: major version "
                                 f"{minimum.major} or later is required (minClientVersion {minimum_text})."),
            apiVersion=api_version(), minClientVersion=minimum_text, clientVersion=client_version,
        )
        return Handshake(refusal, {})
    if client < minimum:
        return Handshake(None, {UPGRADE_HINT_HEADER: minimum_text})
    return Handshake(None, {})


def request_handshake() -> Handshake:
    """:func:`handshake` for the current request's ``X-Client-Version`` header."""
    return handshake(request.headers.get(CLIENT_VERSION_HEADER))


def require_entitlement(token_info: Mapping[str, Any]) -> None:
    """Raise :class:`ApiError` 403 ``ENTITLEMENT_REQUIRED`` (``details.entitlement``) unless the
    caller (connexion's ``token_info``, see :mod:`handlers.serviceai.security`) holds ``chatty-voice``."""
    if ENTITLEMENT not in token_info.get("entitlements", ()):
        raise ApiError(403, "ENTITLEMENT_REQUIRED", f"This account lacks the {ENTITLEMENT} entitlement.",
                       details={"entitlement": ENTITLEMENT})


def with_hint(result: R, headers: Mapping[str, str]) -> R | Reply:
    """``result`` with ``headers`` (the soft-upgrade hint) added: a bare model becomes
    ``Reply(model, 200, headers)``, a ``Reply`` gets them merged in, a ``Response`` gets them set.
    Without headers ``result`` is returned unchanged."""
    if not headers:
        return result
    if isinstance(result, Reply):
        return dataclasses.replace(result, headers={**result.headers, **headers})
    if isinstance(result, Response):
        result.headers.update(headers)
        return result
    return Reply(result, 200, dict(headers))


def chatty(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Reply]]:
    """Gate a Chatty Voice operation (its handler takes ``token_info`` as a keyword): the 426
    handshake (answered as ``Reply(UpgradeRequiredEnvelope, 426)``), then the entitlement (403,
    raised); the handler's result gets the soft-upgrade hint (:func:`with_hint`)."""

    @functools.wraps(handler)
    async def gated(*args: P.args, **kwargs: P.kwargs) -> R | Reply:
        outcome = request_handshake()
        if outcome.refusal is not None:
            return Reply(outcome.refusal, 426)
        require_entitlement(typing.cast(Mapping[str, Any], kwargs["token_info"]))
        return with_hint(await handler(*args, **kwargs), outcome.headers)

    # functools.wraps shares the handler's annotations; the gate's own answers add Reply to what it returns.
    gated.__annotations__ = {**handler.__annotations__, "return": typing.get_type_hints(handler)["return"] | Reply}
    return gated
