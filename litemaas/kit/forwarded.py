"""The client's address behind trusted reverse proxies (``X-Forwarded-For``), and nobody else's say-so.

Without configured proxies every forwarded header is ignored: the address is the TCP peer's.
When the peer is a trusted proxy, ``X-Forwarded-For`` is read from the right (each proxy appends
the address it saw) and the first hop that is not itself a trusted proxy is the client. A hop
that is not an IP address stops the walk at the last address a trusted proxy vouched for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: Iterable[str]) -> list[IPNetwork]:
    """IP addresses or CIDR blocks; raises ValueError naming the first bad entry."""
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or CIDR block") from None
    return networks


def _hop_address(hop: str) -> IPAddress | None:
    """An ``X-Forwarded-For`` hop as an address: bare, ``v4:port`` or ``[v6]:port``; None if not an IP."""
    hop = hop.strip()
    if hop.startswith("[") and "]" in hop:
        hop = hop[1 : hop.index("]")]
    elif hop.count(":") == 1:
        hop = hop.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return None
    # An IPv4-mapped IPv6 address is the IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The proxies whose forwarded headers are believed (an empty list believes none)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = parse_networks(entries)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: IPAddress | str | None) -> bool:
        if address is None:
            return False
        if isinstance(address, str):
            parsed = _hop_address(address)
            if parsed is None:
                return False
            address = parsed
        return any(address in network for network in self._networks)

    def client_address(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client's address: the peer's, unless a trusted peer forwarded the request."""
        if not self._networks or not self.trusts(peer):
            return peer
        client = peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _hop_address(hop)
            if address is None:
                break
            client = str(address)
            if not self.trusts(address):
                break
        return client


class TrustedProxyMiddleware:
    """Sets the ASGI ``client`` (and ``scheme``) from forwarded headers sent by trusted proxies only."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            peer = scope.get("client")
            peer_host = peer[0] if peer else None
            if self.trusted.trusts(peer_host):
                forwarded_for: list[str] = []
                proto: str | None = None
                for name, value in scope.get("headers", []):
                    if name == b"x-forwarded-for":
                        forwarded_for.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").strip().lower()
                client = self.trusted.client_address(peer_host, forwarded_for)
                if client is not None and client != peer_host:
                    scope["client"] = (client, 0)
                if proto in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
