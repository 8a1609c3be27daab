"""The real LiteLLM proxy on our offline engine: keys, limits and spend, through the OpenAI SDK."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx
import openai
import pytest

from tests.support.stack import LiteLLMStack

CHAT = "granite-3-2-8b-instruct"
OTHER_CHAT = "granite-4-0-h-tiny"
EMBED = "nomic-embed-text-v1-5"


def sdk(stack: LiteLLMStack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0, timeout=30)


def chat(client: openai.OpenAI, model: str = CHAT, text: str = "hello") -> Any:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def test_chat_plain_streaming_and_embeddings_with_generated_key(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT, EMBED])["key"]
    client = sdk(litellm_stack, key)

    reply = chat(client, text="tell me about granite")
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.total_tokens > 0

    chunks = list(
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "stream please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert any(c.usage is not None and c.usage.total_tokens > 0 for c in chunks)

    emb = client.embeddings.create(model=EMBED, input=["one", "two"])
    assert len(emb.data) == 2
    assert len(emb.data[0].embedding) == len(emb.data[1].embedding) > 0
    assert emb.data[0].embedding != emb.data[1].embedding


def test_wrong_key_is_401(litellm_stack: LiteLLMStack) -> None:
    with pytest.raises(openai.AuthenticationError):
        chat(sdk(litellm_stack, "sk-not-a-real-key-000000"))


def test_model_not_on_key_is_refused(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT])["key"]
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        chat(sdk(litellm_stack, key), model=OTHER_CHAT)


def test_rpm_limit_enforced_and_resets_after_window(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT], rpm_limit=2)["key"]
    client = sdk(litellm_stack, key)
    first_request_at = time.monotonic()
    statuses = []
    for _ in range(4):
        try:
            chat(client)
            statuses.append(200)
        except openai.RateLimitError:
            statuses.append(429)
    assert statuses == [200, 200, 429, 429]
    # LiteLLM's window is 60 s from the first counted request. Stay quiet until it has passed
    # (polling could itself count against the window), then the key works again.
    time.sleep(max(0.0, 62 - (time.monotonic() - first_request_at)))
    assert chat(client).choices


def test_tpm_limit_enforced(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT], tpm_limit=30)["key"]
    client = sdk(litellm_stack, key)
    got_429 = False
    for _ in range(10):
        try:
            chat(client, text="word " * 20)
        except openai.RateLimitError:
            got_429 = True
            break
    assert got_429


def test_max_budget_enforced_once_spend_exceeds_it(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT], max_budget=0.000001)["key"]
    client = sdk(litellm_stack, key)
    chat(client, text="spend " * 50)  # first call goes through and costs more than the budget
    deadline = time.monotonic() + 15
    refusal: openai.APIStatusError | None = None
    while time.monotonic() < deadline and refusal is None:
        try:
            chat(client)
            time.sleep(0.5)
        except openai.APIStatusError as exc:
            refusal = exc
    # Like OpenAI's exhausted quota: 429, which the SDK raises as RateLimitError (not LiteLLM's
    # default 422 / UnprocessableEntityError), with a message that names the budget.
    assert isinstance(refusal, openai.RateLimitError), repr(refusal)
    assert refusal.status_code == 429 and "budget" in refusal.message.lower()


def test_budget_duration_reset_restores_access(litellm_stack: LiteLLMStack) -> None:
    # The session proxy runs LiteLLM's budget-reset job every 1-2 s (PROXY_BUDGET_RESCHEDULER_*).
    key = litellm_stack.generate_key(models=[CHAT], max_budget=0.000001, budget_duration="3s")["key"]
    client = sdk(litellm_stack, key)
    chat(client, text="spend " * 50)
    refused_at = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and refused_at is None:
        try:
            chat(client)
        except openai.APIStatusError as exc:
            if "budget" in str(exc).lower():
                refused_at = time.monotonic()
        time.sleep(0.2)
    assert refused_at is not None, "budget never enforced"
    restored = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not restored:
        time.sleep(1)
        with contextlib.suppress(openai.APIStatusError):
            restored = bool(chat(client).choices)
    assert restored, "budget window did not reset"


def test_expired_key_refused(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT], duration="1s")["key"]
    time.sleep(2)
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        chat(sdk(litellm_stack, key))


def test_key_update_takes_effect(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT])["key"]
    client = sdk(litellm_stack, key)
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        chat(client, model=OTHER_CHAT)
    resp = litellm_stack.admin.post("/key/update", json={"key": key, "models": [CHAT, OTHER_CHAT]})
    assert resp.status_code == 200, resp.text
    assert chat(client, model=OTHER_CHAT).choices


def test_key_delete_and_block_take_effect_at_once(litellm_stack: LiteLLMStack) -> None:
    deleted = litellm_stack.generate_key(models=[CHAT])["key"]
    blocked = litellm_stack.generate_key(models=[CHAT])["key"]
    assert chat(sdk(litellm_stack, deleted)).choices
    assert chat(sdk(litellm_stack, blocked)).choices

    assert litellm_stack.admin.post("/key/delete", json={"keys": [deleted]}).status_code == 200
    assert litellm_stack.admin.post("/key/block", json={"key": blocked}).status_code == 200
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        chat(sdk(litellm_stack, deleted))
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        chat(sdk(litellm_stack, blocked))


def test_spend_logs_match_key_spend(litellm_stack: LiteLLMStack) -> None:
    generated = litellm_stack.generate_key(models=[CHAT])
    client = sdk(litellm_stack, generated["key"])
    n = 5
    for i in range(n):
        chat(client, text=f"request number {i} " * (i + 1))
    token = generated["token"]
    deadline = time.monotonic() + 60
    rows: list[Any] = []
    spend = None
    while time.monotonic() < deadline:
        with litellm_stack.db() as conn:
            rows = conn.execute('SELECT spend FROM "LiteLLM_SpendLogs" WHERE api_key = %s', (token,)).fetchall()
            spend_row = conn.execute(
                'SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = %s', (token,)
            ).fetchone()
        spend = spend_row[0] if spend_row else None
        if len(rows) == n and spend is not None and abs(spend - sum(r[0] for r in rows)) < 1e-12:
            break
        time.sleep(1)
    assert len(rows) == n
    total = sum(r[0] for r in rows)
    assert total > 0
    assert spend == pytest.approx(total, rel=1e-9, abs=1e-12)


def test_no_log_in_the_request_does_not_skip_spend_tracking(litellm_stack: LiteLLMStack) -> None:
    """`"no-log": true` would turn off LiteLLM's spend logs and key spend for that call."""
    generated = litellm_stack.generate_key(models=[CHAT])
    client = sdk(litellm_stack, generated["key"])
    for flag in ("no-log", "no_log"):
        client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "hello"}], extra_body={flag: True}
        )
    token = generated["token"]
    deadline = time.monotonic() + 60
    rows: list[Any] = []
    spend = 0.0
    while time.monotonic() < deadline:
        with litellm_stack.db() as conn:
            rows = conn.execute('SELECT spend FROM "LiteLLM_SpendLogs" WHERE api_key = %s', (token,)).fetchall()
            row = conn.execute('SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = %s', (token,)).fetchone()
        spend = float(row[0] or 0.0) if row else 0.0
        if len(rows) == 2 and spend > 0:
            break
        time.sleep(1)
    assert len(rows) == 2
    assert spend == pytest.approx(sum(r[0] for r in rows), rel=1e-9, abs=1e-12) and spend > 0


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", {"content-type": "application/json"}),
        (
            b'{"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}',
            {"content-type": "application/json"},
        ),
    ],
)
def test_bad_requests_get_4xx_and_proxy_keeps_serving(
    litellm_stack: LiteLLMStack, body: bytes, headers: dict[str, str]
) -> None:
    key = litellm_stack.generate_key(models=[CHAT])["key"]
    resp = httpx.post(
        f"{litellm_stack.proxy_url}/v1/chat/completions",
        content=body,
        headers={**headers, "Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert chat(sdk(litellm_stack, key)).choices


def test_oversized_body_rejected_and_proxy_keeps_serving(litellm_stack: LiteLLMStack) -> None:
    key = litellm_stack.generate_key(models=[CHAT])["key"]
    marker = "oversized-" + str(time.time_ns())
    huge = marker + "x" * (30 * 1024 * 1024)
    resp = httpx.post(
        f"{litellm_stack.proxy_url}/v1/chat/completions",
        json={"model": CHAT, "messages": [{"role": "user", "content": huge}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert resp.status_code == 413, resp.status_code
    assert "limit" in resp.json()["error"]["message"]
    # Refused before any upstream call: the model server never saw it.
    seen = httpx.get(f"{litellm_stack.simulator_url}/_sim/requests", timeout=10).text
    assert marker not in seen
    assert chat(sdk(litellm_stack, key)).choices


# Columns no background job of the proxy touches (spend and budget resets do change others).
_TOKEN_ROWS = 'SELECT token, user_id, models, blocked, key_alias FROM "LiteLLM_VerificationToken" ORDER BY token'


@pytest.mark.parametrize(
    "auth",
    [
        "Bearer ' OR '1'='1",
        'Bearer sk-1\'; DROP TABLE "LiteLLM_VerificationToken"; --',
        'Bearer sk-" OR 1=1 --',
    ],
)
def test_injection_shaped_authorization_is_401(litellm_stack: LiteLLMStack, auth: str) -> None:
    key = litellm_stack.generate_key(models=[CHAT])["key"]
    with litellm_stack.db() as conn:
        tokens_before = conn.execute(_TOKEN_ROWS).fetchall()
    marker = "injection-" + str(time.time_ns())
    resp = httpx.post(
        f"{litellm_stack.proxy_url}/v1/chat/completions",
        json={"model": CHAT, "messages": [{"role": "user", "content": marker}]},
        headers={"Authorization": auth},
        timeout=30,
    )
    assert resp.status_code == 401, resp.text
    # Refused before any upstream call, and the key table is exactly as it was (no row dropped,
    # added or changed): the header reached no SQL as SQL.
    assert marker not in httpx.get(f"{litellm_stack.simulator_url}/_sim/requests", timeout=10).text
    with litellm_stack.db() as conn:
        tokens_after = conn.execute(_TOKEN_ROWS).fetchall()
    assert tokens_after == tokens_before
    assert len(tokens_after) >= 1
    assert chat(sdk(litellm_stack, key)).choices
