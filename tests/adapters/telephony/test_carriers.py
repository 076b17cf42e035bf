"""Buying numbers from Twilio and Telnyx: the REST requests built and the answers parsed."""

from __future__ import annotations

import json

import httpx
import pytest

from adapters.telephony.carriers import CarrierError, CarrierNotConfigured, Carriers


async def test_twilio_search_then_buy():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert request.headers["authorization"].startswith("Basic ")
        if request.method == "GET":
            assert request.url.path == "/2010-04-01/Accounts/AC123/AvailablePhoneNumbers/US/Local.json"
            assert request.url.params["AreaCode"] == "415"
            return httpx.Response(200, json={"available_phone_numbers": [{"phone_number": "+14155550123"}]})
        assert request.url.path == "/2010-04-01/Accounts/AC123/IncomingPhoneNumbers.json"
        assert request.content == b"PhoneNumber=%2B14155550123"
        return httpx.Response(201, json={"sid": "PN1", "phone_number": "+14155550123"})

    carriers = Carriers(twilio_account_sid="AC123", twilio_auth_token="tok",
                        transport=httpx.MockTransport(handler))
    bought = await carriers.buy_number("twilio", "415")
    assert (bought.number, bought.provider, bought.carrier_id) == ("+14155550123", "twilio", "PN1")
    assert len(calls) == 2


async def test_telnyx_search_then_order_and_failures():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer KEY"
        if request.method == "GET":
            assert request.url.params["filter[national_destination_code]"] == "212"
            return httpx.Response(200, json={"data": [{"phone_number": "+12125550100"}]})
        assert json.loads(request.content) == {"phone_numbers": [{"phone_number": "+12125550100"}]}
        return httpx.Response(200, json={"data": {"id": "order-1"}})

    carriers = Carriers(telnyx_api_key="KEY", transport=httpx.MockTransport(handler))
    bought = await carriers.buy_number("telnyx", "212")
    assert (bought.number, bought.carrier_id) == ("+12125550100", "order-1")

    empty = Carriers(telnyx_api_key="KEY", transport=httpx.MockTransport(lambda r: httpx.Response(200, json={
        "data": []})))
    with pytest.raises(CarrierError) as exc:
        await empty.buy_number("telnyx", "999")
    assert exc.value.no_numbers
    down = Carriers(telnyx_api_key="KEY", transport=httpx.MockTransport(lambda r: httpx.Response(500, text="x")))
    with pytest.raises(CarrierError) as exc:
        await down.buy_number("telnyx", "212")
    assert not exc.value.no_numbers
    with pytest.raises(CarrierNotConfigured) as missing:
        await Carriers(twilio_account_sid="AC").buy_number("twilio", "415")
    assert missing.value.setting == "TWILIO_AUTH_TOKEN"
