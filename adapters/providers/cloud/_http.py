"""Shared HTTP plumbing for the cloud adapters: one httpx.AsyncClient per adapter, vendor
errors mapped to ``ProviderError``, credentials scrubbed from every message.

Nothing here touches the network until an adapter method is awaited.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, Self

import httpx

from adapters.providers.base import ProviderError

DEFAULT_TIMEOUT = 30.0
_EXCERPT_CHARS = 200


class VendorHTTPError(ProviderError):
    """A vendor answered with HTTP ``status`` >= 400 (``retry_after`` seconds if it said so)."""

    def __init__(self, message: str, *, provider: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


class VendorClient:
    """Sends requests for one provider and turns every failure into ``ProviderError``.

    ``secrets`` are replaced by ``***`` in every message this class builds. An injected
    ``client`` is used as is and never closed here; otherwise one is created (on ``transport``
    if given) and closed by ``aclose``. ``timeout`` (seconds) applies to each request.
    """

    def __init__(
        self,
        provider: str,
        *,
        secrets: Iterable[str],
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "voice-gateway",
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive seconds")
        self.provider = provider
        self.timeout = float(timeout)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._timeout = httpx.Timeout(self.timeout)
        if client is not None:
            self._client, self._owns_client = client, False
        else:
            self._client = httpx.AsyncClient(
                transport=transport, timeout=self._timeout, headers={"User-Agent": user_agent}
            )
            self._owns_client = True

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ---- messages -----------------------------------------------------------------------

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _excerpt(self, body: bytes) -> str:
        """A short, single-line, credential-free summary of an error body."""
        text = body.decode("utf-8", errors="replace")
        try:
            detail = _error_detail(json.loads(text))
        except ValueError:
            detail = None
        if detail:
            text = detail
        text = re.sub(r"\s+", " ", self.redact(text)).strip()
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS] + "…"
        return text or "(empty body)"

    def status_error(self, response: httpx.Response, setting_hint: str | None = None) -> VendorHTTPError:
        status = response.status_code
        message = f"{self.provider} returned HTTP {status}: {self._excerpt(response.content)}"
        if status in (401, 403) and setting_hint:
            message += f" (credentials rejected; check {setting_hint})"
        elif status == 429:
            message += " (rate limited or quota exceeded)"
        retry_after: float | None = None
        with contextlib.suppress(ValueError):
            retry_after = float(response.headers.get("Retry-After", ""))
        return VendorHTTPError(message, provider=self.provider, status=status, retry_after=retry_after)

    def transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(f"{self.provider} did not answer within {self.timeout:g} s ({type(exc).__name__})")
        detail = self.redact(str(exc)) if str(exc) else ""
        return ProviderError(f"{self.provider} request failed: {type(exc).__name__}{': ' + detail if detail else ''}")

    # ---- requests -----------------------------------------------------------------------

    async def post(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json_body: Any = None,
        setting_hint: str | None = None,
    ) -> httpx.Response:
        """POST and return the (2xx) response, fully read."""
        try:
            response = await self._client.post(
                url, params=params, headers=headers, content=content, json=json_body, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None  # the chained exception carries the URL
        if response.status_code >= 400:
            raise self.status_error(response, setting_hint)
        return response

    async def post_stream(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json_body: Any = None,
        setting_hint: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """POST and yield the (2xx) response body as it arrives."""
        try:
            async with self._client.stream(
                "POST", url, params=params, headers=headers, content=content, json=json_body, timeout=self._timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self.status_error(response, setting_hint)
                async for piece in response.aiter_bytes():
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None

    def json(self, response: httpx.Response) -> Any:
        """The response body as JSON, or ProviderError."""
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"{self.provider} returned a body that is not JSON: {self._excerpt(response.content)}"
            ) from None

    def shape_error(self, what: str) -> ProviderError:
        return ProviderError(f"{self.provider} returned an unexpected response: {what}")


def _error_detail(payload: Any) -> str | None:
    """The human part of the vendors' JSON error shapes, when recognisable.

    ElevenLabs ``{"detail": {"status", "message"}}`` (or ``{"detail": "..."}``), Deepgram
    ``{"err_code", "err_msg"}``, Google ``{"error": {"code", "message", "status"}}``, Azure
    ``{"error": {"code", "message"}}``.
    """
    if not isinstance(payload, dict):
        return None
    detail = payload.get("detail")
    if isinstance(detail, dict):
        parts = [str(detail[k]) for k in ("status", "message") if detail.get(k)]
        return ": ".join(parts) or None
    if isinstance(detail, str):
        return detail
    if payload.get("err_msg") or payload.get("err_code"):
        return ": ".join(str(payload[k]) for k in ("err_code", "err_msg") if payload.get(k))
    error = payload.get("error")
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("status", "code", "message") if error.get(k) not in (None, "")]
        return ": ".join(parts) or None
    if isinstance(error, str):
        return error
    return None


class VendorAdapter:
    """Lifecycle shared by the cloud adapters, whose ``_http`` is their :class:`VendorClient`:
    ``aclose()`` releases its connections; ``async with adapter:`` closes it on exit."""

    _http: VendorClient

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
