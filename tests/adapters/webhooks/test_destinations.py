"""The SSRF guard: one WHATWG parse, canonical URLs, and deliveries that connect to the address
the check resolved (no second DNS lookup, so no DNS-rebinding window)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest

from adapters.jobs import JobQueue
from adapters.webhooks import (
    UnsafeDestination,
    WebhookDispatcher,
    check_destination,
    check_destinations,
    check_static,
    destinations,
)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("http://1.1.1.1\\@127.0.0.1/", "http://1.1.1.1/@127.0.0.1/"),
    ("HTTPS://Example.COM:443/a b?x=1#f", "https://example.com/a%20b?x=1#f"),
    ("http://例え.jp/", "http://xn--r8jz45g.jp/"),
])
def test_canonical_form(raw, canonical):
    assert check_static(raw).url == canonical


@pytest.mark.parametrize("raw", ["http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "http://[::1]/",
                                 "http://localhost./", "http://a.localhost/", "file:///etc/passwd", "gopher://x/",
                                 "http://169.254.169.254/", "https://u:p@example.com/", "http://100.64.0.1/",
                                 "http://224.0.0.1/", "not a url"])
def test_refused(raw):
    with pytest.raises(UnsafeDestination):
        check_destination(raw, require_resolvable=False)


def test_a_url_that_canonicalisation_lengthens_past_the_limit():
    raw = "https://example.com/" + "a " * 1010  # 2040 characters as sent, 3050 once spaces are %20
    with pytest.raises(destinations.UrlTooLong):
        check_static(raw)
    assert len(check_static("https://" + "a" * 2040).url) == 2048  # an empty path stays empty: no "/" added


def test_allowed_networks():
    assert check_static("http://127.0.0.1:9/x", ["127.0.0.1/32"]).addresses == ("127.0.0.1",)
    assert check_static("http://localhost:9/x", ["127.0.0.0/8"]).addresses == ()


def test_several_urls_resolve_each_name_once_and_name_the_refused_one(monkeypatch):
    lookups: list[tuple[str, int]] = []
    answers = {"hooks.example.com": ("93.184.216.34",), "inside.example.com": ("10.1.2.3",)}

    def resolve(host: str, port: int) -> tuple[str, ...]:
        lookups.append((host, port))
        if host not in answers:
            raise destinations.UnresolvableDestination(f"cannot resolve {host!r}")
        return answers[host]

    monkeypatch.setattr(destinations, "_resolve", resolve)
    urls = ["https://hooks.example.com/a", "http://93.184.216.34/b", "https://HOOKS.example.com/c", "https://new.example/"]
    checked = check_destinations(urls, require_resolvable=False)
    assert [d.url for d in checked] == ["https://hooks.example.com/a", "http://93.184.216.34/b",
                                        "https://hooks.example.com/c", "https://new.example/"]
    assert [d.addresses for d in checked] == [("93.184.216.34",), ("93.184.216.34",), ("93.184.216.34",), ()]
    assert lookups == [("hooks.example.com", 443), ("new.example", 443)]  # the literal needs none
    with pytest.raises(destinations.UnresolvableDestination) as unresolvable:
        check_destinations(urls)
    assert unresolvable.value.index == 3
    with pytest.raises(UnsafeDestination) as private:
        check_destinations(["https://hooks.example.com/", "https://inside.example.com/x"], require_resolvable=False)
    assert private.value.index == 1 and "10.1.2.3" in str(private.value)
    with pytest.raises(UnsafeDestination) as static:
        check_destinations(["https://hooks.example.com/", "file:///etc/passwd"])
    assert static.value.index == 1
    assert check_destination("https://inside.example.com/", ["10.0.0.0/8"]).addresses == ("10.1.2.3",)


def test_pinned_request_keeps_the_name():
    d = destinations.Destination("https://hooks.example.com:8443/p?q=1", "https", "hooks.example.com", 8443,
                                 ("93.184.216.34",))
    url, headers, extensions = d.pinned()
    assert url == "https://93.184.216.34:8443/p?q=1"
    assert headers == {"Host": "hooks.example.com:8443"} and extensions == {"sni_hostname": "hooks.example.com"}
    v6 = destinations.Destination("http://h.example/", "http", "h.example", 80, ("2606:2800:220:1::1",))
    assert v6.pinned()[0] == "http://[2606:2800:220:1::1]/" and v6.pinned()[1] == {"Host": "h.example"}


def test_a_rebinding_name_is_called_at_the_address_that_was_checked(monkeypatch):
    answers = iter([("93.184.216.34",), ("127.0.0.1",)])  # public when checked, loopback a moment later
    monkeypatch.setattr(destinations, "_resolve", lambda host, port: next(answers))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    class Store:
        def __init__(self) -> None:
            self.delivered: list[str] = []

        async def mark_delivered(self, delivery_id, status, at):
            self.delivered.append(delivery_id)

        async def mark_failed_attempt(self, *args):
            raise AssertionError(args)

    store = Store()
    queue = JobQueue("sqlite:///:memory:", name="rebind-test")  # declares the dispatcher's jobs; never started
    dispatcher = WebhookDispatcher(store, queue, name="test.webhooks", header_prefix="X-VB-",  # type: ignore[arg-type]
                                   transport=httpx.MockTransport(handler))
    delivery = SimpleNamespace(delivery_id="d1", url="http://rebind.example/hook", body="{}", event="e", secret=None,
                               attempts=0, created_at=datetime.now(UTC))

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await dispatcher._attempt(client, delivery)

    asyncio.run(go())
    assert store.delivered == ["d1"] and len(seen) == 1
    assert seen[0].url.host == "93.184.216.34" and seen[0].headers["host"] == "rebind.example"
