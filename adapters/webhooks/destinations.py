"""Destination policy of outbound calls: http(s) to public addresses only (the SSRF guard).

One parser decides everything: :func:`canonical_url` parses with the WHATWG URL Standard
(pydantic-core's ``Url``, i.e. the Rust ``url`` crate that browsers' rules are written for) and
the canonical serialisation is what gets checked, stored and later called. Parser differentials
(``http://1.1.1.1\\@127.0.0.1/``, decimal or hex IPv4 hosts, IDN, default ports, upper case) are
resolved once, the same way for the check and for the call.

:func:`check_destination` resolves the host and refuses any address that is not public (unless
inside ``allowed_networks``); the :class:`Destination` it returns carries the addresses it
checked, and :meth:`Destination.pinned` gives the request parts that connect to the first of
them (``Host`` header and TLS SNI keep the name): there is no second DNS lookup between check
and connect, hence no DNS-rebinding window.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic_core import Url

__all__ = ["MAX_URL_LENGTH", "Destination", "UnresolvableDestination", "UnsafeDestination", "UrlTooLong",
           "canonical_url", "check_destination", "check_destinations", "check_static"]


class UnsafeDestination(ValueError):
    """The URL is not http(s) with a host, carries credentials, or reaches a loopback, private,
    link-local, reserved or multicast address. ``index``: the refused URL's position when
    :func:`check_destinations` checked several (else None)."""

    index: int | None = None


class UnresolvableDestination(UnsafeDestination):
    """The host does not resolve (now)."""


class UrlTooLong(UnsafeDestination):
    """The canonical form is longer than the limit (canonicalisation can lengthen a URL: a path
    ``/`` is added, spaces become ``%20``), so it could not be stored as the contract promises."""


#: Longest canonical URL accepted (the contracts' maxLength for URLs).
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class Destination:
    """A checked destination: the canonical ``url``, its ``scheme``, ``host`` (ASCII; an IPv6
    literal without brackets), ``port``, and the ``addresses`` that were checked (empty when the
    host did not resolve and that was allowed)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...] = ()

    def pinned(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """``(url, headers, extensions)`` for httpx that connect to the first checked address:
        the URL with that address as its host, ``Host`` with the original name (and port when
        not the scheme's default), and for https ``sni_hostname`` so TLS still verifies the name.
        Raises UnresolvableDestination when no address was checked."""
        if not self.addresses:
            raise UnresolvableDestination(f"{self.host!r} was not resolved")
        address = self.addresses[0]
        url = httpx.URL(self.url).copy_with(host=address)
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        headers = {"Host": host if self.port == default else f"{host}:{self.port}"}
        extensions: dict[str, Any] = {"sni_hostname": self.host} if self.scheme == "https" else {}
        return str(url), headers, extensions


def canonical_url(raw: str) -> Url:
    """Parse ``raw`` by the WHATWG URL Standard; :func:`canonical_text` of the result is the
    canonical URL. Raises UnsafeDestination unless it is http(s) with a host and without
    credentials, and UrlTooLong when the canonical form exceeds :data:`MAX_URL_LENGTH` characters."""
    try:
        url = Url(str(raw).strip())
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UnsafeDestination("the URL must be http(s) with a host")
    if url.username or url.password:
        raise UnsafeDestination("the URL must not carry credentials")
    if len(canonical_text(url, raw)) > MAX_URL_LENGTH:
        raise UrlTooLong(f"the URL is longer than {MAX_URL_LENGTH} characters in its canonical form")
    return url


def canonical_text(url: Url, raw: str) -> str:
    """The canonical text of ``url`` (parsed from ``raw``): the WHATWG serialization, except that
    an empty path stays empty (``https://host`` and ``https://host/`` are the same resource,
    RFC 3986 §6.2.3). So a URL valid by the contract (``format: uri``, RFC 3986) never grows: the
    canonical form is at most as long as what the client sent, and fits the contract's
    ``maxLength`` wherever the URL is answered back."""
    text = str(url)
    rest = str(raw).strip().split("://", 1)[-1]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if url.path == "/" and not rest[len(authority):].startswith("/"):
        suffix = (f"?{url.query}" if url.query is not None else "") + (
            f"#{url.fragment}" if url.fragment is not None else "")
        base = text[: len(text) - len(suffix)]
        if base.endswith("/"):
            text = base[:-1] + suffix
    return text


def _host(url: Url) -> str:
    host = url.host or ""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableDestination(f"cannot resolve {host!r}: {exc}") from None
    return tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _check_address(host: str, address: str, allowed_networks: tuple[str, ...]) -> None:
    refused = _refused_address(address, allowed_networks)
    if refused is not None:
        raise UnsafeDestination(f"host {host!r} resolves to non-public address {refused}")


@functools.lru_cache(maxsize=4096)
def _refused_address(address: str, allowed_networks: tuple[str, ...]) -> str | None:
    """``address`` (an IPv4-mapped IPv6 address as its IPv4 form) when it is neither public nor
    inside ``allowed_networks``, else None. Cached: the answer depends only on the arguments, and
    ``ipaddress``'s checks cost microseconds per call."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in ipaddress.ip_network(n, strict=False) for n in allowed_networks):
        return None
    if not ip.is_global or ip.is_multicast:
        return str(ip)
    return None


@functools.lru_cache(maxsize=4096)
def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_localhost(host: str) -> bool:
    """RFC 6761: ``localhost`` and every name under it are loopback, whatever DNS says."""
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def check_static(raw: str, allowed_networks: Iterable[str] = ()) -> Destination:
    """The checks that need no DNS: :func:`canonical_url`, and an IP-literal host must be public
    (or inside ``allowed_networks``). Returns the Destination (``addresses`` = the literal, or
    empty for a name). Raises UnsafeDestination."""
    url = canonical_url(raw)
    host = _host(url)
    port = url.port or (443 if url.scheme == "https" else 80)
    allowed = tuple(allowed_networks)
    addresses: tuple[str, ...] = ()
    if _literal(host):
        _check_address(host, host, allowed)
        addresses = (host,)
    elif _is_localhost(host) and _refused_address("127.0.0.1", allowed) is not None:
        raise UnsafeDestination(f"host {host!r} is loopback")
    return Destination(canonical_text(url, raw), url.scheme, host, port, addresses)


def check_destination(url: str, allowed_networks: Iterable[str] = (), *,
                      require_resolvable: bool = True) -> Destination:
    """Refuse a URL that could reach the server's own network; return what was checked.

    Raises :class:`UnsafeDestination` unless the URL is http(s) (no credentials) and every
    address its host resolves to is public — or inside one of ``allowed_networks`` (CIDRs, e.g.
    ``127.0.0.1/32`` in tests; setting ``WEBHOOK_ALLOWED_NETWORKS``). With
    ``require_resolvable=False`` (at registration) a host that does not resolve yet passes with
    no addresses; every delivery checks again and connects only to the addresses it checked
    (:meth:`Destination.pinned`). Blocking (DNS): call from a worker thread.
    """
    return check_destinations([url], allowed_networks, require_resolvable=require_resolvable)[0]


def check_destinations(urls: Sequence[str], allowed_networks: Iterable[str] = (), *,
                       require_resolvable: bool = True) -> list[Destination]:
    """:func:`check_destination` for each of ``urls`` (in order), resolving each distinct host
    and port once: the static checks of all of them first, then DNS only for host names. Raises
    :class:`UnsafeDestination` for the first refused URL, its ``index`` set to that URL's
    position. Blocking (DNS) when a host is a name: call from a worker thread (or check with
    :func:`check_static` first and call this only for the names)."""
    allowed = tuple(allowed_networks)
    checked: list[Destination] = []
    for index, url in enumerate(urls):
        try:
            checked.append(check_static(url, allowed))
        except UnsafeDestination as exc:
            exc.index = index
            raise
    resolved: dict[tuple[str, int], tuple[str, ...] | UnsafeDestination] = {}
    for index, destination in enumerate(checked):
        if destination.addresses:
            continue
        where = (destination.host, destination.port)
        if where not in resolved:
            try:
                addresses = _resolve(destination.host, destination.port)
                for address in addresses:
                    _check_address(destination.host, address, allowed)
                resolved[where] = addresses
            except UnsafeDestination as exc:
                resolved[where] = exc
        outcome = resolved[where]
        if isinstance(outcome, UnresolvableDestination) and not require_resolvable:
            continue
        if isinstance(outcome, UnsafeDestination):
            refused = type(outcome)(*outcome.args)
            refused.index = index
            raise refused
        checked[index] = Destination(destination.url, destination.scheme, destination.host, destination.port,
                                     outcome)
    return checked
