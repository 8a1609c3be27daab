"""Capability validation: the wrong endpoint for a model is a 400 before any upstream call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hooks.conftest import CHAT, DOCLING, EMBED, GUARD, Proxy, marker, sim_requests_with


@pytest.mark.parametrize("model", [EMBED, DOCLING])
@pytest.mark.parametrize("stream", [False, True])
def test_chat_on_a_non_chat_model_is_400(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], model: str, stream: bool
) -> None:
    key = new_key([model])["key"]
    text = marker()

    resp = proxy.chat(key, model, text, stream=stream)

    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert model in message and "/v1/chat/completions" in message
    assert sim_requests_with(proxy.stack, text) == []


def test_embeddings_on_a_chat_model_is_400(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    text = marker()

    resp = proxy.post("/v1/embeddings", key, json={"model": CHAT, "input": text})

    assert resp.status_code == 400, resp.text
    assert "/v1/embeddings" in resp.json()["error"]["message"]
    assert "/v1/chat/completions" in resp.json()["error"]["message"]  # says what to use instead
    assert sim_requests_with(proxy.stack, text) == []


def test_text_completion_on_embeddings_model_is_400(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([EMBED])["key"]
    text = marker()
    resp = proxy.post("/v1/completions", key, json={"model": EMBED, "prompt": text})
    assert resp.status_code == 400, resp.text
    assert sim_requests_with(proxy.stack, text) == []


def test_matching_endpoints_still_work(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT, EMBED, GUARD])["key"]

    assert proxy.chat(key, CHAT, "hello").status_code == 200
    assert proxy.post("/v1/embeddings", key, json={"model": EMBED, "input": "hello"}).status_code == 200
    guard = proxy.chat(key, GUARD, "How do tulips grow?")
    assert guard.status_code == 200
    assert guard.json()["choices"][0]["message"]["content"] == "safe"


def test_models_without_declared_capabilities_follow_their_mode(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    # An admin-added model with no capability metadata is treated as LiteLLM treats it (chat).
    name = f"admin-added-{marker()}"
    added = proxy.stack.admin.post(
        "/model/new",
        json={
            "model_name": name,
            "litellm_params": {
                "model": "hosted_vllm/ibm-granite/granite-3.2-8b-instruct",
                "api_base": f"{proxy.stack.simulator_url}/v1",
            },
            "model_info": {},
        },
    )
    assert added.status_code == 200, added.text
    key = new_key([name])["key"]

    chat = proxy.chat(key, name, "hello")
    tokenize = proxy.post("/v1/tokenize", key, json={"model": name, "prompt": "hello"})
    embeddings = proxy.post("/v1/embeddings", key, json={"model": name, "input": "hello"})

    assert chat.status_code == 200, chat.text
    assert tokenize.status_code == 400, tokenize.text
    assert embeddings.status_code == 400, embeddings.text
