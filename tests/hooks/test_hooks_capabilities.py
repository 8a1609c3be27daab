"""Capability validation: the wrong endpoint for a model, or an endpoint this proxy does not
serve, is a 400 before any upstream call; a caller's bad request never takes a model offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hooks.support import CHAT, DOCLING, EMBED, GUARD, Proxy, marker, sim_requests_with


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


CODE = "codellama-7b-instruct"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/rerank", {"query": "which?", "documents": ["a", "b"]}),
        ("/v1/moderations", {"input": "hello"}),
        ("/v1/images/generations", {"prompt": "a cat"}),
        ("/v1/audio/speech", {"input": "hello", "voice": "alloy"}),
    ],
)
def test_unserved_endpoints_are_400_naming_model_and_endpoint(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]], path: str, body: dict[str, Any]
) -> None:
    key = new_key([CODE])["key"]

    resp = proxy.post(path, key, json={"model": CODE, **body})

    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert path in message and CODE in message and "not served" in message
    # Refused before routing: the model's only deployment is still serving everybody.
    assert proxy.chat(key, CODE, "hello").status_code == 200


def test_provider_passthrough_cannot_reach_a_model_server(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    # LiteLLM's /vllm/{path} pass-through sends a router model's request to any path of its
    # server, skipping the pre-call hooks; the pre-deployment hook refuses it.
    key = new_key([CHAT])["key"]
    text = marker()

    resp = proxy.post(
        "/vllm/chat/completions", key, json={"model": CHAT, "messages": [{"role": "user", "content": text}]}
    )

    assert resp.status_code == 400, resp.text
    assert "not served" in resp.json()["error"]["message"]
    assert sim_requests_with(proxy.stack, text) == []


def test_an_upstream_4xx_does_not_cool_a_shared_model_down(
    proxy: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    # One caller's requests that the model server answers with 404 (the simulator does so on
    # request) used to put the model's only deployment into cooldown: 429 for everybody.
    caller = new_key([CODE])["key"]
    someone_else = new_key([CODE])["key"]

    failures = [proxy.chat(caller, CODE, f"[[sim:status=404]] {marker()}") for _ in range(3)]
    resp = proxy.chat(someone_else, CODE, "hello")

    assert [f.status_code for f in failures] == [404, 404, 404], failures[-1].text
    assert resp.status_code == 200, resp.text
