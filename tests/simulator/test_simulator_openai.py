"""Chat, streaming, embeddings, models and faults of the simulator, over HTTP."""

from __future__ import annotations

import base64
import json
import math
import struct
import time
from collections.abc import Callable

import httpx


def _chat(sim: httpx.Client, content: str, **extra: object) -> httpx.Response:
    body = {
        "model": "ibm-granite/granite-3.2-8b-instruct",
        "messages": [{"role": "user", "content": content}],
        **extra,
    }
    return sim.post("/v1/chat/completions", json=body)


def _sse_events(response: httpx.Response) -> list[str]:
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def test_health_and_models_list_demo_backends(sim: httpx.Client) -> None:
    assert sim.get("/health").json() == {"status": "ok"}
    models = sim.get("/v1/models").json()
    ids = {m["id"] for m in models["data"]}
    assert models["object"] == "list"
    assert {
        "ibm-granite/granite-3.2-8b-instruct",
        "nomic-ai/nomic-embed-text-v1.5",
    } <= ids


def test_chat_answer_is_deterministic_and_derived_from_prompt(
    sim: httpx.Client,
) -> None:
    first = _chat(sim, "Tell me about tulips in Amsterdam").json()
    second = _chat(sim, "Tell me about tulips in Amsterdam").json()
    other = _chat(sim, "Something else entirely").json()

    answer = first["choices"][0]["message"]["content"]
    assert first["object"] == "chat.completion"
    assert first["model"] == "ibm-granite/granite-3.2-8b-instruct"
    assert "tulips in Amsterdam" in answer
    assert answer == second["choices"][0]["message"]["content"]
    assert answer != other["choices"][0]["message"]["content"]
    assert first["choices"][0]["finish_reason"] == "stop"


def test_chat_usage_matches_tokenize_of_the_same_messages(sim: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Count my tokens, please"},
    ]
    chat = sim.post("/v1/chat/completions", json={"model": "m", "messages": messages}).json()
    counted = sim.post("/tokenize", json={"model": "m", "messages": messages}).json()
    answer_tokens = sim.post(
        "/tokenize",
        json={"model": "m", "prompt": chat["choices"][0]["message"]["content"]},
    )

    usage = chat["usage"]
    assert usage["prompt_tokens"] == counted["count"] > 0
    assert usage["completion_tokens"] == answer_tokens.json()["count"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_max_tokens_truncates_with_length_finish_reason(sim: httpx.Client) -> None:
    body = _chat(sim, "a long question that produces a long answer", max_tokens=3).json()
    assert body["usage"]["completion_tokens"] == 3
    assert body["choices"][0]["finish_reason"] == "length"


def test_streaming_sends_same_text_then_usage_then_done(sim: httpx.Client) -> None:
    plain = _chat(sim, "stream me a reply").json()
    with sim.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "ibm-granite/granite-3.2-8b-instruct",
            "messages": [{"role": "user", "content": "stream me a reply"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response)

    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == plain["usage"]


def test_streaming_without_include_usage_has_no_usage_chunk(sim: httpx.Client) -> None:
    with sim.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    ) as response:
        events = _sse_events(response)
    assert events[-1] == "[DONE]"
    assert all("usage" not in json.loads(e) for e in events[:-1])


def test_embeddings_are_deterministic_unit_vectors_of_768(sim: httpx.Client) -> None:
    one = sim.post(
        "/v1/embeddings",
        json={"model": "nomic-ai/nomic-embed-text-v1.5", "input": "hello"},
    ).json()
    many = sim.post("/v1/embeddings", json={"model": "e", "input": ["hello", "world"]}).json()

    vector = one["data"][0]["embedding"]
    assert len(vector) == 768
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)
    assert [d["index"] for d in many["data"]] == [0, 1]
    assert many["data"][0]["embedding"] == vector
    assert many["data"][1]["embedding"] != vector
    assert one["usage"]["prompt_tokens"] == one["usage"]["total_tokens"] > 0
    assert many["usage"]["prompt_tokens"] > one["usage"]["prompt_tokens"]


def test_embeddings_base64_encoding_decodes_to_the_float_vector(
    sim: httpx.Client,
) -> None:
    floats = sim.post("/v1/embeddings", json={"model": "e", "input": "x"}).json()["data"][0]["embedding"]
    encoded = sim.post("/v1/embeddings", json={"model": "e", "input": "x", "encoding_format": "base64"}).json()
    decoded = struct.unpack("<768f", base64.b64decode(encoded["data"][0]["embedding"]))
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(decoded, floats, strict=True))


def test_embeddings_reject_bad_input(sim: httpx.Client) -> None:
    response = sim.post("/v1/embeddings", json={"model": "e", "input": {"not": "valid"}})
    assert response.status_code == 400
    assert "input" in response.json()["error"]["message"]


def test_invalid_json_is_400(sim: httpx.Client) -> None:
    response = sim.post(
        "/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


def test_status_directive_injects_a_failure(sim: httpx.Client) -> None:
    response = _chat(sim, "please fail [[sim:status=503]]")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == 503


def test_latency_and_ttft_options_delay_answers(start_sim: Callable[..., str]) -> None:
    url = start_sim("--latency-ms", "300", "--ttft-ms", "400")
    with httpx.Client(base_url=url, timeout=10) as client:
        started = time.perf_counter()
        client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
        )
        non_streaming = time.perf_counter() - started

        started = time.perf_counter()
        first_content_at = None
        with client.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "stream": True,
            },
        ) as response:
            for line in response.iter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    first_content_at = time.perf_counter() - started
                    break
    assert non_streaming >= 0.3
    assert first_content_at is not None and first_content_at >= 0.4


def test_env_var_sets_latency(start_sim: Callable[..., str]) -> None:
    url = start_sim(env={"LITEMAAS_SIM_LATENCY_MS": "250"})
    started = time.perf_counter()
    httpx.post(f"{url}/v1/embeddings", json={"model": "e", "input": "x"}, timeout=10)
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.25


def test_prompt_longer_than_the_context_is_400_like_vllm(sim: httpx.Client) -> None:
    huge = "x" * (3 * 32768 + 1)
    chat = _chat(sim, huge)
    embed = sim.post("/v1/embeddings", json={"model": "e", "input": ["ok", huge]})
    assert chat.status_code == 400
    assert "maximum context length is 32768 tokens" in chat.json()["error"]["message"]
    assert embed.status_code == 400


def test_prompt_plus_max_tokens_beyond_the_context_is_400(sim: httpx.Client) -> None:
    assert _chat(sim, "short", max_tokens=32768).status_code == 400
    assert _chat(sim, "short", max_tokens=1000).status_code == 200
