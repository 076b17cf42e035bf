"""Ephemeral session minting against an OpenAI-Realtime-compatible API.

Vendor docs: https://platform.openai.com/docs/api-reference/realtime-sessions/create
(``POST /v1/realtime/sessions`` → ``{id, model, voice, …, client_secret: {value, expires_at}}``).
The newer ``POST /v1/realtime/client_secrets`` answer (``{value, expires_at, session: {…}}``)
is understood too, so a compatible server speaking either shape works.

The client secret is short-lived (about a minute) and lets a browser or app open the WebRTC
or WebSocket connection to the realtime model directly, without ever seeing the API key.
Nothing here touches the network until :meth:`RealtimeBackend.mint` is awaited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.providers.base import ProviderError
from adapters.providers.cloud._http import VendorClient

PROVIDER = "realtime"


@dataclass(frozen=True)
class RealtimeSession:
    """A minted session: the client secret and when it stops working (aware UTC, if known)."""

    session_id: str | None
    model: str
    voice: str
    client_secret: str
    expires_at: datetime | None


class RealtimeBackend:
    """Mints ephemeral Realtime sessions with the server's API key.

    ``base_url`` is the API root (``https://api.openai.com/v1``); ``transport`` lets tests
    answer with ``httpx.MockTransport``.
    """

    def __init__(self, base_url: str, api_key: str, *, model: str, voice: str, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.voice = voice
        self._api_key = api_key
        self._timeout = timeout
        self._transport = transport
        self._http: VendorClient | None = None

    def _client(self) -> VendorClient:
        # Created lazily so it binds to the running event loop of the first mint.
        if self._http is None:
            self._http = VendorClient(PROVIDER, secrets=[self._api_key], timeout=self._timeout,
                                      transport=self._transport)
        return self._http

    async def mint(self, *, instructions: str | None = None,
                   tools: list[dict[str, Any]] | None = None) -> RealtimeSession:
        """Create a session configured with ``instructions`` and ``tools`` (Realtime's flat
        ``{type: "function", name, description, parameters}`` form) and return its secret.

        Raises :class:`ProviderError` on a transport failure, a non-2xx answer or an answer
        without a client secret (the API key never appears in the message).
        """
        payload: dict[str, Any] = {"model": self.model, "voice": self.voice}
        if instructions:
            payload["instructions"] = instructions
        if tools:
            payload["tools"] = tools
            payload["tool_choice"] = "auto"
        headers = {"Authorization": f"Bearer {self._api_key}"}
        http = self._client()
        response = await http.post(f"{self.base_url}/realtime/sessions", headers=headers, json_body=payload,
                                   setting_hint="SERVICEAI_REALTIME_API_KEY")
        return self._session(http, http.json(response))

    def _session(self, http: VendorClient, body: Any) -> RealtimeSession:
        if not isinstance(body, dict):
            raise http.shape_error("the body is not a JSON object")
        secret = body.get("client_secret")
        session: dict[str, Any] = body["session"] if isinstance(body.get("session"), dict) else body
        if isinstance(secret, dict):  # /realtime/sessions
            value, expires = secret.get("value"), secret.get("expires_at")
        else:  # /realtime/client_secrets
            value, expires = body.get("value"), body.get("expires_at")
        if not isinstance(value, str) or not value:
            raise http.shape_error("no client secret in the answer")
        expires_at = None
        if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > 0:
            expires_at = datetime.fromtimestamp(expires, tz=UTC)
        voice = session.get("voice")
        if not isinstance(voice, str):
            voice = (((session.get("audio") or {}).get("output") or {}).get("voice")
                     if isinstance(session.get("audio"), dict) else None)
        session_id = session.get("id")
        model = session.get("model")
        return RealtimeSession(
            session_id=session_id if isinstance(session_id, str) and session_id else None,
            model=model if isinstance(model, str) else self.model,
            voice=voice if isinstance(voice, str) and voice else self.voice,
            client_secret=value,
            expires_at=expires_at,
        )

    async def exchange_sdp(self, client_secret: str, offer_sdp: str) -> tuple[int, str, bytes]:
        """POST the caller's SDP offer to ``{base_url}/realtime?model=…`` authenticated with a
        minted ``client_secret``; returns ``(status, content type, body)`` exactly as the
        backend answered (2xx = the SDP answer; anything else is the backend's own error,
        which the caller passes through verbatim).

        Raises :class:`ProviderError` when the backend cannot be reached at all.
        """
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            try:
                response = await client.post(
                    f"{self.base_url}/realtime", params={"model": self.model}, content=offer_sdp.encode("utf-8"),
                    headers={"Authorization": f"Bearer {client_secret}", "Content-Type": "application/sdp"},
                )
            except httpx.HTTPError as exc:
                raise ProviderError(f"realtime backend unreachable: {type(exc).__name__}") from None
        return response.status_code, response.headers.get("content-type", "text/plain"), response.content

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


__all__ = ["ProviderError", "RealtimeBackend", "RealtimeSession"]
