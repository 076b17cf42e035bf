"""What an API package gives the gateway: one :class:`ApiPlugin`, exposed as ``<package>.plugin``.

The gateway reads the merged contract (which operations exist, which API each belongs to) and
each API's plugin (how it renders errors, checks credentials, builds its adapters, starts and
stops its background work). It names no API: a fifth API is a new package with a plugin and a
new entry in ``specs/merge.yaml``.

Handlers reach their API's adapters one way for every API: the package's ``bundle.py``
declares ``bundle = BundleSlot[MyBundle]("<api name>")`` and handlers call ``bundle()``. The
gateway builds each bundle once per server (``plugin.build(services)``) and makes it current
for every request and for the server's lifespan (:func:`activate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from handlers.services import Services

B = TypeVar("B")

_current: ContextVar[Mapping[str, Any] | None] = ContextVar("api_bundles", default=None)
_installed: dict[str, Any] = {}


class ErrorEnvelope(Protocol):
    """An API's own error body, rendered for every error status (the gateway's own included)."""

    def body(self, status: int, code: str, message: str, details: Any, *, violation: bool) -> dict[str, Any]:
        """The JSON error body. ``code`` is machine-readable (e.g. ``NOT_FOUND``), ``message`` human;
        ``violation`` is True when the request broke the contract (``status`` is then the API's
        validation status and ``details`` the validator's findings, if any)."""
        ...

    def headers(self, status: int) -> dict[str, str]:
        """Headers every error of ``status`` carries (e.g. a ``WWW-Authenticate`` challenge on 401)."""
        ...


@dataclass(frozen=True)
class ApiPlugin(Generic[B]):
    """One API as the gateway sees it.

    - ``name``: the API's name in ``specs/merge.yaml`` (e.g. ``virtual-banker``).
    - ``envelope``: its error body (:class:`ErrorEnvelope`).
    - ``validation_status``: the status of a request that breaks the contract (400, or 422 for
      FastAPI-style APIs); must agree with ``specs/merge.yaml`` (checked at start-up).
    - ``build``: its service bundle from the shared :class:`~handlers.services.Services`.
    - ``security``: ``{security scheme name in the API's own document: function}``; the
      function receives what connexion extracts for that scheme type (``token`` for bearer,
      ``username, password`` for basic, ``api_key`` for apiKey) and returns the caller's
      ``token_info`` dict, or None for 401.
    - ``on_startup`` / ``on_shutdown``: the bundle's background work, awaited in the server's
      lifespan (start in API order, stop in reverse).
    """

    name: str
    envelope: ErrorEnvelope
    validation_status: int
    build: Callable[[Services], B]
    security: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    on_startup: Callable[[B], Awaitable[None]] | None = None
    on_shutdown: Callable[[B], Awaitable[None]] | None = None


class BundleSlot(Generic[B]):
    """Where an API's handlers find its bundle: ``bundle()`` returns the current one.

    The current bundles are those :func:`activate` made current (each request and the lifespan
    of the server that serves it), else the ones :func:`install` left for code that runs outside
    a server (command-line tools, tests). Raises RuntimeError when neither holds this API.
    """

    def __init__(self, api: str) -> None:
        self.api = api

    def __call__(self) -> B:
        bundles = _current.get() or _installed
        try:
            return bundles[self.api]
        except KeyError:
            raise RuntimeError(f"no {self.api} bundle is installed (the gateway builds it at start-up)") from None


def install(bundles: Mapping[str, Any]) -> None:
    """Make ``bundles`` (``{api name: bundle}``) the process-wide fallback (the last server built)."""
    _installed.clear()
    _installed.update(bundles)


def activate(bundles: Mapping[str, Any]) -> Token[Mapping[str, Any] | None]:
    """Make ``bundles`` current in this context (a request, a lifespan); undo with :func:`deactivate`."""
    return _current.set(bundles)


def deactivate(token: Token[Mapping[str, Any] | None]) -> None:
    """Undo :func:`activate`."""
    _current.reset(token)


@contextmanager
def active(bundles: Mapping[str, Any]) -> Iterator[None]:
    """``with active(bundles):`` — :func:`activate` for the block."""
    token = activate(bundles)
    try:
        yield
    finally:
        deactivate(token)
