"""The Llama Guard guardrail on the real proxy: per key, per model, streaming, failures, charging."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import LiteLLMStack
from tests.hooks.conftest import (
    CHAT,
    CHAT_BACKEND,
    GUARD,
    GUARD_BACKEND,
    UNSAFE,
    Proxy,
    marker,
    sim_requests_with,
    spend_rows,
)

SCREENED = {"litemaas_guardrails": ["llama-guard"]}  # key metadata read by the guardrail


def _events(resp: httpx.Response) -> list[str]:
    return [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]


def _streamed_text(resp: httpx.Response) -> str:
    chunks = [json.loads(e) for e in _events(resp) if e != "[DONE]"]
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))


def test_unsafe_prompt_is_400_naming_the_category(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata=SCREENED)["key"]
    text = f"{UNSAFE} {marker()}"

    resp = proxy.chat(key, CHAT, text)

    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert "S9" in message and "Indiscriminate Weapons" in message and "llama-guard" in message
    seen = sim_requests_with(proxy.stack, text)
    assert [e["json"]["model"] for e in seen] == [GUARD_BACKEND]  # screened, never answered


def test_safe_prompt_gets_a_normal_answer(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata=SCREENED)["key"]
    text = f"How do tulips grow? {marker()}"

    resp = proxy.chat(key, CHAT, text)

    assert resp.status_code == 200, resp.text
    assert "tulips" in resp.json()["choices"][0]["message"]["content"]
    assert sorted(e["json"]["model"] for e in sim_requests_with(proxy.stack, text)) == sorted(
        [GUARD_BACKEND, CHAT_BACKEND]
    )


def test_keys_without_the_guardrail_are_not_screened(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    text = f"{UNSAFE} {marker()}"

    resp = proxy.chat(key, CHAT, text)

    assert resp.status_code == 200, resp.text
    assert [e["json"]["model"] for e in sim_requests_with(proxy.stack, text)] == [CHAT_BACKEND]


def test_streaming_requests_are_screened(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata=SCREENED)["key"]
    unsafe = f"{UNSAFE} {marker()}"
    safe = f"tell me about tulips {marker()}"

    blocked = proxy.chat(key, CHAT, unsafe, stream=True)
    allowed = proxy.chat(key, CHAT, safe, stream=True)

    assert blocked.status_code == 400, blocked.text
    assert "S9" in blocked.json()["error"]["message"]
    assert [e["json"]["model"] for e in sim_requests_with(proxy.stack, unsafe)] == [GUARD_BACKEND]
    assert allowed.status_code == 200
    assert _events(allowed)[-1] == "[DONE]"
    assert "tulips" in _streamed_text(allowed)


def test_a_screened_key_cannot_opt_out_in_the_request(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata=SCREENED)["key"]
    resp = proxy.chat(
        key,
        CHAT,
        UNSAFE,
        guardrails=[],
        metadata={"litemaas_guardrails": [], "user_api_key_metadata": {}, "disable_global_guardrails": True},
    )
    assert resp.status_code == 400, resp.text


def test_request_can_opt_in_itself(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT])["key"]
    resp = proxy.chat(key, CHAT, UNSAFE, guardrails=["llama-guard"])
    assert resp.status_code == 400, resp.text


def test_safety_model_down_fails_closed_by_default(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata=SCREENED)["key"]
    text = f"tulips [[sim:status=503]] {marker()}"  # the simulator answers the safety call with 503

    resp = proxy.chat(key, CHAT, text)

    assert resp.status_code == 503, resp.text
    message = resp.json()["error"]["message"]
    assert "Safety screening is unavailable" in message and "fails closed" in message
    assert [e["json"]["model"] for e in sim_requests_with(proxy.stack, text)] == [GUARD_BACKEND]


def test_unreachable_safety_model_fail_closed(variant: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata={"litemaas_guardrails": ["guard-unreachable-closed"]})["key"]
    text = f"tulips {marker()}"

    resp = variant.chat(key, CHAT, text)

    assert resp.status_code == 503, resp.text
    assert "llama-guard-unreachable" in resp.json()["error"]["message"]
    assert sim_requests_with(variant.stack, text) == []


def test_unreachable_safety_model_fail_open(variant: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT], metadata={"litemaas_guardrails": ["guard-unreachable-open"]})["key"]
    text = f"tulips {marker()}"

    resp = variant.chat(key, CHAT, text)

    assert resp.status_code == 200, resp.text
    assert [e["json"]["model"] for e in sim_requests_with(variant.stack, text)] == [CHAT_BACKEND]


def test_per_model_enablement(variant: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([CHAT, "granite-guarded"])["key"]

    guarded = variant.chat(key, "granite-guarded", UNSAFE)
    unguarded = variant.chat(key, CHAT, UNSAFE)

    assert guarded.status_code == 400, guarded.text
    assert "S9" in guarded.json()["error"]["message"]
    assert unguarded.status_code == 200, unguarded.text


def test_unsafe_answers_are_blocked_when_responses_are_screened(
    variant: Proxy, new_key: Callable[..., dict[str, Any]]
) -> None:
    # The simulator's answer repeats the prompt, so an unsafe prompt yields an unsafe answer.
    key = new_key([CHAT], metadata={"litemaas_guardrails": ["guard-responses"]})["key"]

    plain = variant.chat(key, CHAT, UNSAFE)
    streamed = variant.chat(key, CHAT, UNSAFE, stream=True)
    fine = variant.chat(key, CHAT, "tulips", stream=True)

    assert plain.status_code == 400, plain.text
    assert "response was blocked" in plain.json()["error"]["message"]
    assert streamed.status_code == 400, streamed.text
    assert "you said" not in _streamed_text(streamed)  # the buffered answer never reaches the client
    assert "response was blocked" in streamed.text and "S9" in streamed.text
    assert fine.status_code == 200 and "tulips" in _streamed_text(fine)


def test_safety_model_calls_are_not_charged_to_the_user(
    proxy: Proxy, litellm_stack: LiteLLMStack, new_key: Callable[..., dict[str, Any]]
) -> None:
    generated = new_key([CHAT], metadata=SCREENED)
    assert proxy.chat(generated["key"], CHAT, f"tulips {marker()}").status_code == 200
    assert proxy.chat(generated["key"], CHAT, f"{UNSAFE} {marker()}").status_code == 400

    rows = spend_rows(litellm_stack, generated["token"], expected=1)

    charged = [row for row in rows if row["spend"] > 0]
    assert [row["model_group"] for row in charged] == [CHAT]
    assert GUARD not in {row["model_group"] for row in rows}


def test_the_safety_model_answers_chat_itself_unscreened(proxy: Proxy, new_key: Callable[..., dict[str, Any]]) -> None:
    key = new_key([GUARD], metadata=SCREENED)["key"]
    text = f"{UNSAFE} {marker()}"

    resp = proxy.chat(key, GUARD, text)

    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "unsafe\nS9"
    assert len(sim_requests_with(proxy.stack, text)) == 1  # no screening call of its own
