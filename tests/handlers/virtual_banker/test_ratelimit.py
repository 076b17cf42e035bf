"""The rate-limit decorator's pieces: Retry-After arithmetic and headers on every result form."""

from __future__ import annotations

from starlette.responses import Response

from adapters.ratelimit import RateDecision
from generated.models.virtual_banker import BaseResponse
from handlers.results import Reply
from handlers.virtual_banker.ratelimit import headers_of, retry_after, with_headers

DECISION = RateDecision(allowed=False, limit=10, remaining=0, reset=1_700_000_030)


def test_retry_after_rounds_up_and_is_at_least_one():
    assert retry_after(DECISION, now=1_700_000_000.0) == 30
    assert retry_after(DECISION, now=1_700_000_000.5) == 30  # 29.5 s → 30
    assert retry_after(DECISION, now=1_700_000_029.9) == 1
    assert retry_after(DECISION, now=1_700_000_031.0) == 1  # already past: retry now-ish, never 0


def test_headers_are_added_to_each_result_form():
    headers = headers_of(DECISION)
    assert headers == {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000030"}
    model = BaseResponse(success=True)
    reply = with_headers(model, headers)
    assert isinstance(reply, Reply) and reply.content is model and reply.status == 200
    assert dict(reply.headers) == headers
    created = with_headers(Reply(model, 201, {"Location": "/x"}), headers)
    assert isinstance(created, Reply) and created.status == 201 and created.content is model
    assert dict(created.headers) == {"Location": "/x", **headers}
    raw = with_headers(Response(b"abc", media_type="audio/wav"), headers)
    assert isinstance(raw, Response) and raw.headers["X-RateLimit-Remaining"] == "0"
    assert raw.headers["content-type"] == "audio/wav"
