"""Request bodies are bounded while they are read: 413 before LiteLLM buffers them, either framing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hooks.support import CHAT, Proxy, marker, sim_requests_with

MB = 1024 * 1024  # the session proxy runs with the default limit, LITEMAAS_HOOKS_MAX_REQUEST_MB=20


def _chat_body(text: str) -> bytes:
    return json.dumps({"model": CHAT, "messages": [{"role": "user", "content": text}]}).encode()


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    # A generator body: httpx sends it with Transfer-Encoding: chunked and no Content-Length.
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_body_over_the_limit_is_413_and_never_forwarded(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], framing: str
) -> None:
    key = new_key([CHAT])["key"]
    text = marker()
    body = _chat_body(text + "x" * (27 * MB))

    resp = proxy.post(
        "/v1/chat/completions",
        key,
        content=_chunked(body) if framing == "chunked" else body,
        headers={"content-type": "application/json"},
    )

    assert resp.status_code == 413, resp.text
    assert "limit is 20 MB" in resp.json()["error"]["message"]
    assert sim_requests_with(proxy.stack, text) == []
    assert proxy.chat(key, CHAT, "hello").status_code == 200  # the proxy keeps serving


def test_chunked_body_within_the_limit_is_served(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    text = marker()

    resp = proxy.post(
        "/v1/chat/completions",
        key,
        content=_chunked(_chat_body(text + " tulips" * 8_000), size=4096),
        headers={"content-type": "application/json"},
    )

    assert resp.status_code == 200, resp.text
    assert len(sim_requests_with(proxy.stack, text)) == 1


def test_the_bound_holds_before_authentication(proxy: Proxy) -> None:
    # Nothing is read past the limit, not even to find out that the key is wrong.
    resp = proxy.post(
        "/v1/chat/completions",
        "sk-not-a-key",
        content=_chunked(_chat_body("x" * (21 * MB))),
        headers={"content-type": "application/json"},
    )

    assert resp.status_code == 413, resp.text
