"""Which URLs a model server may be asked to fetch on a caller's behalf (the SSRF guard).

docling-serve downloads ``http`` sources, posts progress to ``callbacks`` and calls remote
model APIs named in its options, all from inside the cluster. A caller must therefore never be
able to point it at loopback, private, link-local (cloud metadata), shared (CGNAT), multicast,
reserved or cluster-internal targets, nor at another scheme than http(s).

The check is deny by default: the URL must parse the same way for every parser (no userinfo, no
backslash, no percent-encoding or non-ASCII in the host, no control characters), names that only
make sense inside a network (``localhost``, single labels, ``*.svc``, ``*.cluster.local``,
``*.internal``, ...) are refused without a lookup, numeric hosts are read the way WHATWG URL
parsers read them (``2130706433``, ``0177.0.0.1`` and ``0x7f.1`` are all 127.0.0.1), and every
address a name resolves to must be public. An operator may allow named hosts and networks.

What this cannot close: docling-serve resolves the name again (DNS rebinding), follows
redirects, and applies its own resolver search domains. The NetworkPolicy of the docling-serve
pods must block egress to cluster and metadata ranges; this check is the first of two layers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

# An IPv4 address has at most four dot-separated parts, each leading part one octet.
_IPV4_MAX_PARTS = 4
_OCTET_MAX = 255

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES: Final = frozenset({"http", "https"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Names that resolve only inside a site, a cluster or a host (RFC 6761/6762/8375, Kubernetes).
_INTERNAL_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_INTERNAL_SUFFIXES: Final = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".corp",
    ".svc",
    ".cluster.local",
    ".arpa",
    ".onion",
    ".invalid",
    ".test",
    ".example",
)
_HOST_CHARS: Final = re.compile(r"^[a-z0-9_.-]+$")
_NUMERIC_LABEL: Final = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_FORBIDDEN_URL_CHARS: Final = re.compile(r"[\x00-\x20\x7f\\]")
# IPv6 prefixes that embed an IPv4 address a gateway will reach (RFC 6052 NAT64).
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED: Final = ipaddress.IPv4Network("100.64.0.0/10")


class UrlRefused(ValueError):
    """A URL the policy does not let through; ``field`` names where the caller put it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"'{field}' {reason}. Document URLs must be public http(s) addresses.")


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """Public http(s) only, plus the operator's allowlist of hosts and networks."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_suffixes: tuple[str, ...] = ()
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolve_timeout_s: float = 5.0

    @classmethod
    def from_entries(cls, entries: Iterable[str], resolve_timeout_s: float = 5.0) -> SourcePolicy:
        """``docs.example.org``, ``*.example.org``, ``10.0.5.7`` or ``10.0.5.0/24``; bad entries raise."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.removeprefix("*.")
            if not _HOST_CHARS.match(name) or not name.strip("."):
                raise ValueError(f"allowed source {raw!r} is neither a host name nor an address/CIDR")
            if entry.startswith("*."):
                suffixes.append("." + name)
            else:
                hosts.add(name)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks), resolve_timeout_s)

    async def check(self, url: str, field: str) -> None:
        """Raise :class:`UrlRefused` unless ``url`` is an http(s) URL whose every address may be fetched."""
        host, port, literal = _parse(url, field)
        if literal is None and self._host_allowed(host):
            return
        if literal is not None:
            self.check_addresses(field, [literal])
            return
        if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
            raise UrlRefused(field, "names a local or cluster-internal host")
        if "." not in host:
            raise UrlRefused(field, "names a single-label (local network) host")
        self.check_addresses(field, await self._resolve(host, port, field))

    def check_addresses(self, field: str, addresses: Iterable[IPAddress]) -> None:
        """Every address must be public or inside an allowed network; none at all is refused."""
        seen = False
        for address in addresses:
            seen = True
            if any(address in network for network in self.allowed_networks if network.version == address.version):
                continue
            kind = _non_public_kind(address)
            if kind is not None:
                # The address itself is not echoed: for a name it would disclose internal DNS.
                article = "an" if kind[0] in "aeiou" else "a"
                raise UrlRefused(field, f"points to {article} {kind} address")
        if not seen:
            raise UrlRefused(field, "names a host that cannot be resolved")

    def _host_allowed(self, host: str) -> bool:
        return host in self.allowed_hosts or any(host.endswith(suffix) for suffix in self.allowed_suffixes)

    async def _resolve(self, host: str, port: int, field: str) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            answers = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=self.resolve_timeout_s
            )
        except (OSError, TimeoutError, UnicodeError):
            raise UrlRefused(field, "names a host that cannot be resolved") from None
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in answers:
            try:
                addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
            except ValueError:
                raise UrlRefused(field, "names a host that resolves to an unusable address") from None
        return addresses


def _parse(url: str, field: str) -> tuple[str, int, IPAddress | None]:
    """(host, port, address if the host is a literal); refuses anything parsers could read differently."""
    if not isinstance(url, str) or not url:
        raise UrlRefused(field, "must be a URL")
    if _FORBIDDEN_URL_CHARS.search(url):
        raise UrlRefused(field, "contains characters not allowed in a URL (spaces, control characters, backslashes)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(field, "is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UrlRefused(field, f"uses the scheme '{scheme or '(none)'}'; only http and https are allowed")
    if not parts.netloc.isascii():
        # WHATWG parsers map Unicode hosts (fullwidth digits, dots) before resolving them.
        raise UrlRefused(field, "has a non-ASCII host; use its xn-- (punycode) form")
    if "@" in parts.netloc:
        raise UrlRefused(field, "carries user information; send credentials in headers instead")
    netloc_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if netloc_host.startswith("["):
        try:
            address = ipaddress.ip_address(netloc_host[1:-1])
        except ValueError:
            raise UrlRefused(field, "has an invalid IPv6 address") from None
        return str(address), port or _DEFAULT_PORTS[scheme], address
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused(field, "has no host")
    if not _HOST_CHARS.match(host):
        raise UrlRefused(field, "has a host with characters that are not allowed")
    literal = _whatwg_ipv4(host, field)
    return host, port or _DEFAULT_PORTS[scheme], literal


def _whatwg_ipv4(host: str, field: str) -> ipaddress.IPv4Address | None:
    """Read a host ending in a number as WHATWG URL parsers (and inet_aton) do, or None for a name."""
    labels = host.split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if len(labels) > _IPV4_MAX_PARTS:
        raise UrlRefused(field, "has an invalid IPv4 address")
    numbers: list[int] = []
    for label in labels:
        if not _NUMERIC_LABEL.match(label):
            raise UrlRefused(field, "has an invalid IPv4 address")
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            try:
                numbers.append(int(label, 8))
            except ValueError:
                raise UrlRefused(field, "has an invalid IPv4 address") from None
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(n > _OCTET_MAX for n in head) or last >= (_OCTET_MAX + 1) ** (_IPV4_MAX_PARTS + 1 - len(numbers)):
        raise UrlRefused(field, "has an invalid IPv4 address")
    value = last
    for index, number in enumerate(head):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _non_public_kind(address: IPAddress) -> str | None:
    """What makes ``address`` unfit for a server-side fetch, or None if it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _non_public_kind(embedded)
        if address.is_site_local:
            return "private"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "shared (carrier-grade NAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "non-public"),
    )
    return next((kind for hit, kind in checks if hit), None)
