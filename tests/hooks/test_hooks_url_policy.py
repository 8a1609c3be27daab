"""The URL policy's decisions on their own: resolved answers, numeric hosts, the allowlist syntax.

The proxy tests cover literal addresses end to end; what a *name* resolves to cannot be staged on
a loopback-only test machine, so the decision on a resolver's answers is checked here directly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys

import pytest

from tests.support.stack import REPO

sys.path.insert(0, str(REPO / "hooks"))

from litemaas_hooks.url_policy import SourcePolicy, UrlRefused


def _addresses(*texts: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ipaddress.ip_address(text) for text in texts]


@pytest.mark.parametrize(
    "answers",
    [
        ("93.184.215.14", "10.0.0.7"),  # one private answer among public ones is enough to refuse
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "fd00::1"),
        ("169.254.169.254",),
        ("64:ff9b::a00:1",),  # NAT64 of 10.0.0.1
        ("2002:a9fe:a9fe::1",),  # 6to4 of 169.254.169.254
        ("239.1.2.3",),
        ("240.0.0.1",),
    ],
)
def test_a_name_is_refused_when_any_answer_is_not_public(answers: tuple[str, ...]) -> None:
    with pytest.raises(UrlRefused) as refused:
        SourcePolicy().check_addresses("sources[0].url", _addresses(*answers))
    assert refused.value.field == "sources[0].url"
    assert "10.0.0" not in str(refused.value)  # resolved addresses are never echoed


def test_a_name_with_only_public_answers_passes() -> None:
    SourcePolicy().check_addresses("u", _addresses("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))


def test_no_answer_is_refused() -> None:
    with pytest.raises(UrlRefused, match="cannot be resolved"):
        SourcePolicy().check_addresses("u", [])


def test_allowed_networks_cover_their_addresses_only() -> None:
    policy = SourcePolicy.from_entries(["10.0.5.0/24", "fd00:5::/64"])
    policy.check_addresses("u", _addresses("10.0.5.9", "fd00:5::9", "93.184.215.14"))
    with pytest.raises(UrlRefused):
        policy.check_addresses("u", _addresses("10.0.6.9"))


def test_allowed_host_names_skip_the_lookup_and_the_internal_name_rule() -> None:
    policy = SourcePolicy.from_entries(["docs.team.svc", "*.corp.example.org"])
    asyncio.run(policy.check("http://docs.team.svc/a.pdf", "u"))
    asyncio.run(policy.check("https://wiki.corp.example.org/b.pdf", "u"))
    with pytest.raises(UrlRefused):
        asyncio.run(policy.check("http://other.team.svc/a.pdf", "u"))
    with pytest.raises(UrlRefused):
        asyncio.run(policy.check("file://docs.team.svc/etc/passwd", "u"))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0xa9fea9fe", "169.254.169.254"),
    ],
)
def test_numeric_hosts_are_read_as_url_parsers_read_them(host: str, address: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        asyncio.run(SourcePolicy().check(f"http://{host}/x", "u"))
    assert "address" in refused.value.reason
    allowed = SourcePolicy.from_entries([address])
    asyncio.run(allowed.check(f"http://{host}/x", "u"))


@pytest.mark.parametrize("host", ["1.2.3.4.5", "08.1.1.1", "256.1.1.1", "1.2.3.256", "example.123"])
def test_malformed_numeric_hosts_are_refused(host: str) -> None:
    with pytest.raises(UrlRefused, match="invalid IPv4"):
        asyncio.run(SourcePolicy().check(f"http://{host}/x", "u"))


@pytest.mark.parametrize("entry", ["not a host", "http://x.org", "10.0.0.0/33"])
def test_bad_allowlist_entries_fail_at_start_up(entry: str) -> None:
    with pytest.raises(ValueError):
        SourcePolicy.from_entries([entry])
