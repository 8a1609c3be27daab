"""Usage analytics from real traffic through the real proxy match what LiteLLM recorded."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
import pytest

from tests.support.stack import CHAT, CHAT_2, DOCLING, EMBED, api, chat, sdk, token_hash
from tests.usage.support import spend_log_sums, wait_for_litellm

pytestmark = pytest.mark.asyncio

ENDPOINT_OF_CALL = {"acompletion": "/chat/completions", "aembedding": "/embeddings"}


def _endpoint(row: dict[str, Any]) -> str:
    if row["call_type"] in ENDPOINT_OF_CALL:
        return ENDPOINT_OF_CALL[row["call_type"]]
    # The hooks' pass-through routes: document conversion on the docling model, tokenize otherwise.
    assert row["call_type"] == "allm_passthrough_route", row
    return "/docling" if row["model_group"] == DOCLING else "/tokenize"


def _truth(rows: Iterable[dict[str, Any]], by: Callable[[dict[str, Any]], Any]) -> dict[Any, tuple[int, ...]]:
    """LiteLLM's per-call records summed: requests, ok, failed, prompt, completion, spend in micro-cents."""
    sums: dict[Any, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0])
    for row in rows:
        s = sums[by(row)]
        s[0] += 1
        s[1] += row["status"] == "success"
        s[2] += row["status"] != "success"
        s[3] += row["prompt_tokens"]
        s[4] += row["completion_tokens"]
        s[5] += row["spend"]
    return {k: (*(int(v) for v in s[:5]), round(s[5] * 1e8)) for k, s in sums.items()}


def _ours(row: dict[str, Any]) -> tuple[int, ...]:
    return (
        row["requests"],
        row["successful_requests"],
        row["failed_requests"],
        row["prompt_tokens"],
        row["completion_tokens"],
        round(row["spend"] * 1e8),
    )


def _pdf(pages: int) -> bytes:
    return b"%PDF-1.4\n" + b"<< /Type /Page >>\n" * pages + b"%%EOF"


async def _traffic(litellm_stack: Any, keys: dict[str, str]) -> int:
    """Chat, streamed chat, embeddings, tokenize, document conversion and a failed call; returns calls made."""
    proxy = httpx.AsyncClient(base_url=litellm_stack.proxy_url, timeout=60)
    a1 = sdk(litellm_stack, keys["a1"])
    await chat(a1)
    await chat(a1, text="a second, slightly longer question")
    stream = await a1.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "stream this"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for _ in stream:
        pass
    await a1.embeddings.create(model=EMBED, input=["first text", "second text here"])
    tokenize = await proxy.post(
        "/v1/tokenize", headers={"Authorization": f"Bearer {keys['a1']}"}, json={"model": CHAT, "prompt": "count me"}
    )
    assert tokenize.status_code == 200, tokenize.text

    await chat(sdk(litellm_stack, keys["a2"]), model=CHAT_2)
    source = {"kind": "file", "base64_string": base64.b64encode(_pdf(3)).decode(), "filename": "three.pdf"}
    converted = await proxy.post(
        "/docling/v1/convert/source",
        headers={"Authorization": f"Bearer {keys['a2']}"},
        json={"model": DOCLING, "sources": [source]},
    )
    assert converted.status_code == 200, converted.text

    b1 = sdk(litellm_stack, keys["b1"])
    await chat(b1, text="bob asks")
    tokenize = await proxy.post(
        "/v1/tokenize", headers={"Authorization": f"Bearer {keys['b1']}"}, json={"model": CHAT, "prompt": "bob"}
    )
    assert tokenize.status_code == 200, tokenize.text
    with pytest.raises(openai.APIStatusError):
        await chat(b1, text="fail please [[sim:status=503]]")
    await proxy.aclose()
    return 10


async def test_analytics_match_litellm_per_user_model_provider_key_and_endpoint(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    alice, bob = api(await login()), api(await login())
    for user in (alice, bob):
        for model in (CHAT, CHAT_2, EMBED, DOCLING):
            await user.subscribe(model)
    created = {
        "a1": await alice.create_key([CHAT, EMBED], alias="laptop"),
        "a2": await alice.create_key([CHAT_2, DOCLING], alias="docs"),
        "b1": await bob.create_key([CHAT, DOCLING], alias="bob-key"),
    }
    hashes = {name: token_hash(k["key"]) for name, k in created.items()}
    key_of_hash = {hashes[name]: created[name]["id"] for name in created}
    calls = await _traffic(litellm_stack, {name: k["key"] for name, k in created.items()})
    wait_for_litellm(litellm_stack.litellm_database_url, list(hashes.values()), calls)
    truth_rows = spend_log_sums(litellm_stack.litellm_database_url, list(hashes.values()))
    assert len(truth_rows) == calls

    refreshed = (await admin.call("POST", "/admin/usage/refresh", 200)).json()
    assert refreshed["upstream_reads"] >= 1
    day = datetime.now(UTC).date().isoformat()
    alice_id, bob_id = (await alice.me())["user_id"], (await bob.me())["user_id"]
    body = {"start_date": day, "end_date": day, "users": [alice_id, bob_id], "limit": 500}
    result = (await admin.call("POST", "/admin/usage/analytics", 200, json=body)).json()

    assert {r["key"]: _ours(r) for r in result["by_key"]["items"]} == {
        key_of_hash[h]: v for h, v in _truth(truth_rows, lambda r: r["api_key"]).items()
    }
    assert {r["user_id"]: _ours(r) for r in result["by_user"]["items"]} == _truth(truth_rows, lambda r: r["user"])
    assert {r["model"]: _ours(r) for r in result["by_model"]["items"]} == _truth(truth_rows, lambda r: r["model_group"])
    assert {r["provider"]: _ours(r) for r in result["by_provider"]["items"]} == _truth(
        truth_rows, lambda r: r["custom_llm_provider"]
    )
    assert {r["endpoint"]: _ours(r) for r in result["by_endpoint"]["items"]} == _truth(truth_rows, _endpoint)
    assert set(result["by_endpoint"]["items"][0]) >= {"endpoint", "requests", "spend", "avg_response_ms"}
    [everything] = _truth(truth_rows, lambda r: "all").values()
    assert _ours(result["totals"]) == everything
    assert [_ours(p) for p in result["daily"]] == [everything]
    keys_by_id = {r["key"]: r for r in result["by_key"]["items"]}
    assert keys_by_id[created["a1"]["id"]]["alias"] == "laptop"
    assert keys_by_id[created["b1"]["id"]]["username"] == (await bob.me())["username"]

    # LiteLLM's own daily activity API, per user, agrees to the token and the cent.
    for user_id in (alice_id, bob_id):
        activity = litellm_stack.admin.get(
            "/user/daily/activity", params={"user_id": user_id, "start_date": day, "end_date": day}
        )
        assert activity.status_code == 200, activity.text
        meta = activity.json()["metadata"]
        ours = next(r for r in result["by_user"]["items"] if r["user_id"] == user_id)
        assert (ours["requests"], ours["prompt_tokens"], ours["completion_tokens"]) == (
            meta["total_api_requests"],
            meta["total_prompt_tokens"],
            meta["total_completion_tokens"],
        )
        assert round(ours["spend"] * 1e8) == round(meta["total_spend"] * 1e8)

    # Alice's own view: her keys only, the same figures.
    own = (await alice.call("POST", "/usage/analytics", 200, json={"start_date": day, "end_date": day})).json()
    alice_row = next(r for r in result["by_user"]["items"] if r["user_id"] == alice_id)
    assert _ours(own["totals"]) == _ours(alice_row)
    assert {r["key"] for r in own["by_key"]["items"]} == {created["a1"]["id"], created["a2"]["id"]}
    assert [r["user_id"] for r in own["by_user"]["items"]] == [alice_id]
