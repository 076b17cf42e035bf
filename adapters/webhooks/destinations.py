"""Destination policy of outbound webhooks: http(s) to public addresses only (the SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit


class UnsafeDestination(ValueError):
    """The webhook URL is not http(s) or resolves to a loopback/private/link-local/reserved address."""


class UnresolvableDestination(UnsafeDestination):
    """The webhook host does not resolve (now)."""


def _resolve(host: str, port: int) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableDestination(f"cannot resolve {host!r}: {exc}") from None


def check_destination(url: str, allowed_networks: Iterable[str] = (), *, require_resolvable: bool = True) -> None:
    """Refuse a webhook URL that could reach the server's own network.

    Raises :class:`UnsafeDestination` unless the scheme is http/https and every address the
    host resolves to is public — or inside one of ``allowed_networks`` (CIDRs, e.g.
    ``127.0.0.1/32`` in tests; setting ``WEBHOOK_ALLOWED_NETWORKS``). With
    ``require_resolvable=False`` (at registration) a host that does not resolve yet passes;
    every delivery checks again, so a later resolution to a private address is still refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("webhook URL must be http(s) with a host")
    if parts.username or parts.password:
        raise UnsafeDestination("webhook URL must not carry credentials")
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("webhook URL has an invalid port") from None
    try:
        addresses = _resolve(parts.hostname, port)
    except UnresolvableDestination:
        if require_resolvable:
            raise
        return
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in net for net in allowed):
            continue
        if not ip.is_global or ip.is_multicast:
            raise UnsafeDestination(f"webhook host {parts.hostname!r} resolves to non-public address {ip}")
