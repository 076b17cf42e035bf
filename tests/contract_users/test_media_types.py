"""The mechanism behind issue 12's first 500 ("Multiple response content types are defined in the
operation spec, but the handler response did not specify which one to return"), checked for every
operation rather than one handler: each implemented operation is bound through
``gateway.binding.bind``, whose every result form is a Starlette response naming its media type
(connexion passes those through untouched), and every error leaves through the ErrorRenderer with
an explicit media type."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel
from starlette.responses import Response

from gateway.binding import bind, to_response
from gateway.contract import Contract
from gateway.resolver import OperationResolver
from handlers.results import Reply

CONTRACT = Contract()
MULTI = sorted(
    op["operationId"] for _, _, op in CONTRACT.operations()
    if len({m for r in op.get("responses", {}).values() for m in (r.get("content") or {})}) > 1
    and not op.get("x-gateway-pending") and "101" not in op.get("responses", {}))


class Body(BaseModel):
    value: int


@pytest.mark.parametrize("result", [
    {"a": 1}, [1, 2], ({"a": 1}, 426), ({"a": 1}, 400, {"X-A": "1"}), Body(value=1), Reply(Body(value=1), 426),
    Reply(Body(value=1), 200, {}, "application/problem+json"), (Body(value=1), 201),
])
def test_every_result_form_names_its_media_type(result):
    response = to_response(result)
    assert isinstance(response, Response)
    assert response.headers["content-type"].split(";")[0] in ("application/json", "application/problem+json")


@pytest.mark.parametrize("result", [None, (None, 204), Reply(None, 204)])
def test_bodiless_results_have_no_body(result):
    response = to_response(result)
    assert response.body == b"" and "content-type" not in response.headers


def test_operations_with_several_media_types_are_bound_through_bind():
    """Their handlers always answer a Starlette response, so connexion never has to guess."""
    assert MULTI, "the contract has operations with several response media types"
    resolver = OperationResolver(CONTRACT)
    for operation_id in MULTI:
        function = resolver.resolve_function_from_operation_id(operation_id)
        assert hasattr(function, "__wrapped__"), f"{operation_id} is not bound through gateway.binding.bind"


def test_a_bound_handler_returning_plain_data_answers_a_named_response():
    async def handler() -> dict[str, int]:
        return {"ok": 1}

    response = asyncio.run(bind(handler)())
    assert isinstance(response, Response) and response.media_type == "application/json"
