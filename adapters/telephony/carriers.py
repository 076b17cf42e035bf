"""Buying phone numbers from carriers (Twilio, Telnyx) over their REST APIs (httpx).

``buy_number(provider, area_code)`` searches the US local numbers of the area code and buys
the first one. Units/shapes: numbers are E.164 strings. Credentials come from settings
(``TWILIO_ACCOUNT_SID`` + ``TWILIO_AUTH_TOKEN``, ``TELNYX_API_KEY``); pointing the bought number
at the LiveKit SIP endpoint is configured at the carrier (see README).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

TWILIO_API = "https://api.twilio.com/2010-04-01"
TELNYX_API = "https://api.telnyx.com/v2"


class CarrierNotConfigured(Exception):
    def __init__(self, provider: str, setting: str) -> None:
        super().__init__(f"provider {provider!r} is not configured: set {setting}")
        self.provider = provider
        self.setting = setting


class CarrierError(Exception):
    """The carrier failed or refused (``unavailable`` true: no number / carrier down)."""

    def __init__(self, message: str, *, no_numbers: bool = False) -> None:
        super().__init__(message)
        self.no_numbers = no_numbers


@dataclass(frozen=True)
class BoughtNumber:
    number: str
    provider: str
    carrier_id: str


class Carriers:
    def __init__(self, *, twilio_account_sid: str | None = None, twilio_auth_token: str | None = None,
                 telnyx_api_key: str | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 20.0) -> None:
        self.twilio_account_sid = twilio_account_sid
        self.twilio_auth_token = twilio_auth_token
        self.telnyx_api_key = telnyx_api_key
        self._transport = transport
        self._timeout = timeout

    def require(self, provider: str) -> None:
        """Raise :class:`CarrierNotConfigured` naming the first missing setting."""
        if provider == "twilio":
            if not self.twilio_account_sid:
                raise CarrierNotConfigured(provider, "TWILIO_ACCOUNT_SID")
            if not self.twilio_auth_token:
                raise CarrierNotConfigured(provider, "TWILIO_AUTH_TOKEN")
        elif provider == "telnyx":
            if not self.telnyx_api_key:
                raise CarrierNotConfigured(provider, "TELNYX_API_KEY")
        else:
            raise CarrierError(f"unknown carrier {provider!r}")

    def _client(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._transport, timeout=self._timeout, **kwargs)

    async def buy_number(self, provider: str, area_code: str) -> BoughtNumber:
        self.require(provider)
        try:
            if provider == "twilio":
                return await self._twilio(area_code)
            return await self._telnyx(area_code)
        except httpx.HTTPError as exc:
            raise CarrierError(f"{provider} request failed: {exc}") from None

    async def _twilio(self, area_code: str) -> BoughtNumber:
        base = f"{TWILIO_API}/Accounts/{self.twilio_account_sid}"
        async with self._client(auth=(self.twilio_account_sid or "", self.twilio_auth_token or "")) as client:
            found = await client.get(f"{base}/AvailablePhoneNumbers/US/Local.json",
                                     params={"AreaCode": area_code, "VoiceEnabled": "true", "PageSize": 1})
            if found.status_code >= 400:
                raise CarrierError(f"twilio search failed ({found.status_code}): {found.text[:200]}")
            numbers = found.json().get("available_phone_numbers") or []
            if not numbers:
                raise CarrierError(f"twilio has no numbers available in area code {area_code}", no_numbers=True)
            bought = await client.post(f"{base}/IncomingPhoneNumbers.json",
                                       data={"PhoneNumber": numbers[0]["phone_number"]})
            if bought.status_code >= 400:
                raise CarrierError(f"twilio purchase failed ({bought.status_code}): {bought.text[:200]}")
            body = bought.json()
            return BoughtNumber(body["phone_number"], "twilio", body.get("sid", ""))

    async def _telnyx(self, area_code: str) -> BoughtNumber:
        headers = {"Authorization": f"Bearer {self.telnyx_api_key}"}
        async with self._client(headers=headers) as client:
            found = await client.get(f"{TELNYX_API}/available_phone_numbers",
                                     params={"filter[country_code]": "US",
                                             "filter[national_destination_code]": area_code,
                                             "filter[limit]": 1, "filter[features]": "voice"})
            if found.status_code >= 400:
                raise CarrierError(f"telnyx search failed ({found.status_code}): {found.text[:200]}")
            numbers = found.json().get("data") or []
            if not numbers:
                raise CarrierError(f"telnyx has no numbers available in area code {area_code}", no_numbers=True)
            number = numbers[0]["phone_number"]
            order = await client.post(f"{TELNYX_API}/number_orders", json={"phone_numbers": [{"phone_number": number}]})
            if order.status_code >= 400:
                raise CarrierError(f"telnyx purchase failed ({order.status_code}): {order.text[:200]}")
            return BoughtNumber(number, "telnyx", order.json().get("data", {}).get("id", ""))
