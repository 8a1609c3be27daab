"""/v1/tokenize and /v1/detokenize on the real proxy, forwarded to the simulator's vLLM API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.hooks.support import (
    CHAT,
    CHAT_BACKEND,
    DOCLING,
    EMBED,
    GUARD,
    Proxy,
    marker,
    sha256,
    sim_requests,
    sim_requests_with,
)


def test_tokenize_rewrites_model_and_returns_the_servers_answer(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    key = new_key([CHAT])["key"]
    text = f"tokenize me please {marker()}"

    resp = proxy.post("/v1/tokenize", key, json={"model": CHAT, "prompt": text, "metadata": {"team": "x"}})

    direct = httpx.post(f"{proxy.stack.simulator_url}/tokenize", json={"model": CHAT_BACKEND, "prompt": text}).json()
    assert resp.status_code == 200, resp.text
    assert resp.json() == direct
    assert resp.json()["count"] > 0 and resp.json()["max_model_len"] > 0
    forwarded = [e for e in sim_requests(proxy.stack, "/tokenize") if e["json"].get("prompt") == text]
    assert len(forwarded) == 2  # ours through the proxy, and the direct one above
    through_proxy = forwarded[0]
    assert through_proxy["json"] == {"model": CHAT_BACKEND, "prompt": text}
    assert through_proxy["auth_sha256"] != sha256(f"Bearer {key}")


def test_tokenize_messages_counts_like_the_server(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    messages = [{"role": "system", "content": "Be short."}, {"role": "user", "content": f"hi {marker()}"}]

    resp = proxy.post("/v1/tokenize", key, json={"model": CHAT, "messages": messages})

    direct = httpx.post(f"{proxy.stack.simulator_url}/tokenize", json={"model": "x", "messages": messages}).json()
    assert resp.status_code == 200, resp.text
    assert resp.json()["count"] == direct["count"]


def test_detokenize_round_trip(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    text = f"Grüße {marker()}"
    tokens = proxy.post("/v1/tokenize", key, json={"model": CHAT, "prompt": text}).json()["tokens"]

    resp = proxy.post("/v1/detokenize", key, json={"model": CHAT, "tokens": tokens})

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"prompt": text}
    assert any(e["json"]["model"] == CHAT_BACKEND for e in sim_requests(proxy.stack, "/detokenize"))


def test_master_key_may_tokenize(proxy: Proxy) -> None:
    resp = proxy.post("/v1/tokenize", proxy.stack.master_key, json={"model": CHAT, "prompt": "hello"})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("path", ["/v1/tokenize", "/v1/detokenize"])
def test_key_without_the_model_is_refused(proxy: Proxy, new_key: Callable[..., dict[str, Any]], path: str) -> None:
    key = new_key(["granite-4-0-h-tiny"])["key"]
    text = marker()
    body = {"model": CHAT, "prompt": text} if path.endswith("/tokenize") else {"model": CHAT, "tokens": [16777313]}

    resp = proxy.post(path, key, json=body)

    assert resp.status_code in (401, 403), resp.text
    assert sim_requests_with(proxy.stack, text) == []


@pytest.mark.parametrize("model", [EMBED, DOCLING, GUARD])
def test_model_without_tokenize_capability_is_400(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], model: str
) -> None:
    key = new_key([model])["key"]
    text = marker()

    resp = proxy.post("/v1/tokenize", key, json={"model": model, "prompt": text})

    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert model in message and "/v1/tokenize" in message
    assert sim_requests_with(proxy.stack, text) == []


def test_invalid_key_is_401(proxy: Proxy) -> None:
    resp = proxy.post("/v1/tokenize", "sk-not-a-real-key-000000", json={"model": CHAT, "prompt": "x"})
    assert resp.status_code == 401


def test_missing_key_is_401(proxy: Proxy) -> None:
    resp = httpx.post(f"{proxy.url}/v1/tokenize", json={"model": CHAT, "prompt": "x"}, timeout=30)
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"prompt": "no model here"}', "model"),
        (b'{"model": "", "prompt": "x"}', "model"),
        (b'{"model": "no-such-model", "prompt": "x"}', "no-such-model"),
        (b'{"model": "granite-3-2-8b-instruct", "prompt": ', "json"),
    ],
)
def test_bad_input_is_400(proxy: Proxy, new_key: Callable[..., dict[str, Any]], content: bytes, fragment: str) -> None:
    key = new_key([CHAT, "no-such-model"])["key"]
    resp = proxy.post("/v1/tokenize", key, content=content, headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["error"]["message"].lower() or fragment in resp.text


def test_server_error_is_relayed_not_500(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    resp = proxy.post("/v1/tokenize", key, json={"model": CHAT, "prompt": "boom [[sim:status=503]]"})
    assert resp.status_code == 503, resp.text
    assert "503" in resp.json()["error"]["message"]
