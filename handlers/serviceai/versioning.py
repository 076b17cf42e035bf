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
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from connexion import request

from core.settings import ROOT
from handlers.errors import ApiError
from handlers.serviceai.bundle import bundle

ENTITLEMENT = "chatty-voice"
CLIENT_VERSION_HEADER = "X-Client-Version"
UPGRADE_HINT_HEADER = "X-Upgrade-Available"
CONTRACT = ROOT / "generated" / "apis" / "serviceai.openapi.yaml"

_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


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

    def _pre_key(self) -> tuple:
        # A release ranks above any of its pre-releases; identifiers compare numerically when
        # numeric, lexically otherwise, numeric below alphanumeric (semver 2.0.0 §11).
        if not self.prerelease:
            return (1,)
        return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease))

    def key(self) -> tuple:
        return (self.major, self.minor, self.patch, self._pre_key())

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()


def parse_version(text: str) -> Version | None:
    """``"1.2.3-beta.1+45"`` → ``Version(1, 2, 3, ("beta", "1"))``; None when not a semver."""
    match = _SEMVER.match(text.strip()) if text else None
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())


@lru_cache(maxsize=1)
def api_version() -> str:
    """``info.version`` of the ServiceAi contract this server implements."""
    with CONTRACT.open(encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)["info"]["version"])


def min_client_version() -> str:
    return bundle().settings.serviceai_min_client_version


@dataclass(frozen=True)
class Handshake:
    """Outcome for one request: a 426 response to send instead, or headers to add."""

    refusal: tuple[dict[str, Any], int] | None
    headers: dict[str, str]


def handshake(client_version: str | None) -> Handshake:
    """Apply the rules of this module to the ``X-Client-Version`` value (None when absent)."""
    if client_version is None:
        return Handshake(None, {})
    client = parse_version(client_version)
    if client is None:  # the contract's pattern normally rejects it before the handler runs
        raise ApiError(400, "VALIDATION_ERROR", f"{CLIENT_VERSION_HEADER} is not a valid semver: {client_version!r}")
    minimum_text = min_client_version()
    minimum = parse_version(minimum_text)
    assert minimum is not None  # the setting is validated at start-up
    if client.major < minimum.major:
        body = {
            "error": {
                "code": "UPGRADE_REQUIRED",
                "message": f"Client version {client_version} is no longer supported: major version "
                           f"{minimum.major} or later is required (minClientVersion {minimum_text}).",
            },
            "apiVersion": api_version(),
            "minClientVersion": minimum_text,
            "clientVersion": client_version,
        }
        return Handshake((body, 426), {})
    if client < minimum:
        return Handshake(None, {UPGRADE_HINT_HEADER: minimum_text})
    return Handshake(None, {})


def request_handshake() -> Handshake:
    """:func:`handshake` for the current request's header."""
    return handshake(request.headers.get(CLIENT_VERSION_HEADER))


def require_entitlement(token_info: dict[str, Any]) -> None:
    """403 ``ENTITLEMENT_REQUIRED`` unless the caller holds ``chatty-voice``."""
    if ENTITLEMENT not in token_info.get("entitlements", ()):
        raise ApiError(403, "ENTITLEMENT_REQUIRED", f"This account lacks the {ENTITLEMENT} entitlement.",
                       details={"entitlement": ENTITLEMENT})


def json_body(body: Any) -> dict[str, Any]:
    """The request body as a JSON object. Without a Content-Type header connexion hands the
    (already validated) JSON over as raw bytes; an absent body is the contract's default ``{}``."""
    if isinstance(body, (bytes, bytearray, str)):
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            raise ApiError(400, "VALIDATION_ERROR", "Request body is not valid JSON") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "VALIDATION_ERROR", "Request body must be a JSON object")
    return body


def with_headers(result: Any, headers: dict[str, str]) -> Any:
    """Add ``headers`` to a handler result (``(body, status[, headers])`` or a Response)."""
    if not headers:
        return result
    if isinstance(result, tuple):
        body, status, *rest = result
        return body, status, {**(rest[0] if rest else {}), **headers}
    result.headers.update(headers)
    return result


def chatty(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Gate a Chatty Voice operation: 426 handshake, then the entitlement (403); the result
    gets the soft-upgrade hint header when the client is older than minClientVersion."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        outcome = request_handshake()
        if outcome.refusal is not None:
            return outcome.refusal
        require_entitlement(kwargs["token_info"])
        return with_headers(await handler(*args, **kwargs), outcome.headers)

    return wrapper
