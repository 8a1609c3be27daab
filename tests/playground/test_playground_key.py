"""The playground key behind ``POST /playground/chat``: what LiteLLM holds for it, and how it follows changes.

The backend runs against the session's real LiteLLM proxy (``app`` is ``stack_app``, tests/fixtures/stack.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from litemaas.dependencies import SETTINGS
from litemaas.litellm_admin import LiteLLMAdminClient
from tests.support.stack import CHAT, CHAT_2, api, db_rows

pytestmark = pytest.mark.asyncio


async def _chat(client: Any, model: str = CHAT, text: str = "hello") -> Any:
    return await client.post(
        "/playground/chat", json={"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 8}
    )


def _content(stream: str) -> str:
    """The answer text of an OpenAI chat event stream."""
    chunks = [json.loads(line[5:]) for line in stream.splitlines() if line.startswith("data: {")]
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))


def _playground_key(database_url: str, user_id: str) -> tuple[str, str]:
    rows = db_rows(
        database_url,
        "SELECT id::text, token_hash FROM api_keys WHERE user_id = %s AND purpose = 'playground' AND status = 'active'",
        user_id,
    )
    assert len(rows) == 1, rows
    return rows[0][0], rows[0][1]


async def test_the_key_follows_subscriptions_and_reconcile_leaves_it_alone(
    app: FastAPI, login: Any, litellm_admin: LiteLLMAdminClient, backend_database_url: str
):
    user = api(await login())
    uid = (await user.me())["user_id"]
    await user.subscribe(CHAT)
    second = await user.subscribe(CHAT_2)
    answer = await _chat(user.client)
    assert answer.status_code == 200, answer.text
    assert _content(answer.text).startswith("Simulated") and answer.text.endswith("data: [DONE]\n\n")
    key_id, key_hash = _playground_key(backend_database_url, uid)
    info = await litellm_admin.key_info(key_hash)
    assert sorted(info.models) == sorted([CHAT, CHAT_2])
    assert info.user_id == uid and info.rpm_limit == SETTINGS.get(app).playground_rpm_limit

    # Cancelling a subscription takes the model off the playground key at once.
    await user.call("POST", f"/subscriptions/{second['id']}/cancel", 200)
    assert (await litellm_admin.key_info(key_hash)).models == [CHAT]
    assert (await _chat(user.client, CHAT_2)).json()["error"] == "playground_model_not_available"

    admin = api(await login(role="admin"))
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert key_id not in str(report) and key_hash[-8:] not in str(report)
    assert await litellm_admin.key_exists(key_hash)
    assert (await _chat(user.client)).status_code == 200


async def test_a_key_litellm_lost_is_made_again(
    app: FastAPI, login: Any, litellm_admin: LiteLLMAdminClient, backend_database_url: str
):
    user = api(await login())
    uid = (await user.me())["user_id"]
    await user.subscribe(CHAT)
    assert (await _chat(user.client)).status_code == 200
    _, key_hash = _playground_key(backend_database_url, uid)
    await litellm_admin.delete_key(key_hash)

    answer = await _chat(user.client, text="still there?")
    assert answer.status_code == 200, answer.text
    assert await litellm_admin.key_exists(key_hash)
    assert _playground_key(backend_database_url, uid)[1] == key_hash


async def test_changed_playground_limits_reach_litellm(
    app: FastAPI, login: Any, litellm_admin: LiteLLMAdminClient, backend_database_url: str
):
    user = api(await login())
    uid = (await user.me())["user_id"]
    await user.subscribe(CHAT)
    assert (await _chat(user.client)).status_code == 200
    settings = SETTINGS.get(app)
    before = settings.playground_tpm_limit
    settings.playground_tpm_limit = before + 1
    try:
        assert (await _chat(user.client)).status_code == 200
    finally:
        settings.playground_tpm_limit = before
    _, key_hash = _playground_key(backend_database_url, uid)
    assert (await litellm_admin.key_info(key_hash)).tpm_limit == before + 1


async def test_max_tokens_and_payload_are_checked(app: FastAPI, login: Any):
    user = api(await login())
    await user.subscribe(CHAT)
    too_many = SETTINGS.get(app).playground_max_tokens + 1
    response = await user.client.post(
        "/playground/chat", json={"model": CHAT, "messages": [{"role": "user", "content": "x"}], "max_tokens": too_many}
    )
    assert response.status_code == 400 and response.json()["error"] == "playground_invalid_request"
    response = await user.client.post("/playground/chat", json={"model": CHAT, "messages": []})
    assert response.status_code == 400 and response.json()["error"] == "playground_invalid_request"
