"""The chat playground in a real browser, through the real backend, LiteLLM proxy and simulator.

The backend here is wired to the session's LiteLLM proxy (``playground_portal``), with a small
playground RPM limit so the limit can be reached. Streaming is made visible with the
simulator's in-band ``[[sim:itl_ms=N]]`` directive (N ms between streamed chunks).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from litemaas.config import Settings
from litemaas.litellm_admin import token_hash
from litemaas.playground.service import PLAYGROUND_TAG, derive_secret
from tests.support.backend import REDIS_URL, free_port
from tests.support.stack import CHAT, CHAT_2, EMBED, db_dump, db_rows
from tests.web.portal_support import PortalServer, check_page, login_as, screenshot, serve_app

RPM_LIMIT = 4


@pytest.fixture(scope="module")
def playground_portal(portal_settings: Settings, litellm_stack: Any) -> Iterator[PortalServer]:
    """The backend wired to the session's real LiteLLM proxy, demo catalog synced."""
    from litemaas.app import create_app

    port = free_port()
    settings = portal_settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "proxy_url": litellm_stack.proxy_url,
            "master_key": SecretStr(litellm_stack.master_key),
            "playground_rpm_limit": RPM_LIMIT,
        }
    )
    app = create_app(settings, configure_logs=False)
    with serve_app(app, port) as url, httpx.Client(base_url=url, timeout=60) as admin:
        login = admin.post("/auth/dev", data={"username": f"pg-admin-{uuid.uuid4().hex[:6]}", "role": "admin"})
        assert login.status_code == 303, login.text
        synced = admin.post("/api/v1/admin/models/sync", headers={"X-CSRF-Token": admin.cookies["litemaas_csrf"]})
        assert synced.status_code == 200, synced.text
        yield PortalServer(url=url, app=app)


async def _user(browser: Browser, server: PortalServer, *models: str) -> Page:
    """A fresh user, logged in, subscribed to ``models``, on the playground page."""
    page = await login_as(browser, server.url, username=f"pg-{uuid.uuid4().hex[:8]}", next_path="/playground")
    for model in models:
        response = await page.request.post(
            server.url + "/api/v1/subscriptions", data={"model": model}, headers=await _csrf(page)
        )
        assert response.status == 201, await response.text()
    await page.goto(server.url + "/playground")
    return page


async def _csrf(page: Page) -> dict[str, str]:
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    return {"X-CSRF-Token": cookies["litemaas_csrf"]}


async def _send(page: Page, text: str) -> None:
    await page.fill("#pg-prompt", text)
    await page.click("#pg-send")


async def _answered(page: Page, turns: int) -> None:
    """Wait until ``turns`` answers are complete (Send enabled again)."""
    await expect(page.locator('[data-role="assistant"][data-outcome="done"]')).to_have_count(turns, timeout=30_000)


def _sim_requests(litellm_stack: Any, text: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{litellm_stack.simulator_url}/_sim/requests", params={"path": "/v1/chat/completions"})
    return [e for e in response.json()["data"] if text in json.dumps(e.get("json"))]


async def test_playground_streams_answers_turn_after_turn(browser: Browser, playground_portal, litellm_stack):
    page = await _user(browser, playground_portal, CHAT, CHAT_2, EMBED)
    offered = await page.locator("#pg-model option").evaluate_all("options => options.map(o => o.value)")
    assert sorted(offered) == sorted([CHAT, CHAT_2])  # the embeddings model is not a chat model
    await page.select_option("#pg-model", CHAT_2)
    await page.fill("#pg-system", "You answer in one sentence.")
    marker = uuid.uuid4().hex[:8]

    await _send(page, f"[[sim:itl_ms=150]] first question {marker}")
    answer = page.locator('[data-role="assistant"] .lm-playground__text').first
    await expect(answer).to_contain_text("Simulated answer", timeout=15_000)
    # Text is on the page while the stream is still running (Stop is still enabled).
    assert await page.locator("#pg-stop").is_enabled()
    assert await page.locator('[data-role="assistant"][data-outcome]').count() == 0
    await _answered(page, 1)
    assert await page.locator("#pg-stop").is_disabled()
    for name in ("ttft", "total"):
        assert (await page.locator(f'[data-metric="{name}"]').inner_text()).endswith(("ms", "s"))
    assert " / " in await page.locator('[data-metric="tokens"]').inner_text()

    await _send(page, f"second question {marker}")
    await _answered(page, 2)
    assert await page.locator("#pg-send").is_enabled() and await page.locator("#pg-stop").is_disabled()
    sent = _sim_requests(litellm_stack, f"second question {marker}")
    assert len(sent) == 1
    body = sent[0]["json"]
    assert body["stream"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == "You answer in one sentence."
    assert body["messages"][2]["content"].startswith("Simulated answer")
    assert body["temperature"] == 0.7 and body["max_tokens"] == 512

    await screenshot(page, "playground-conversation")
    await check_page(page, "playground")
    await _send(page, "[[sim:itl_ms=0]] third")
    await _answered(page, 1)  # check_page reloaded the page: a new conversation
    await page.click("#pg-clear")
    assert await page.locator("#pg-conversation li").count() == 0


async def test_stop_ends_the_answer_where_it_got(browser: Browser, playground_portal):
    page = await _user(browser, playground_portal, CHAT)
    await _send(page, "[[sim:itl_ms=400]] please talk slowly about many different things for a while")
    answer = page.locator('[data-role="assistant"] .lm-playground__text')
    await expect(answer).to_contain_text("Simulated", timeout=15_000)
    await page.click("#pg-stop")
    await expect(page.get_by_test_id("playground-stopped")).to_be_visible()
    assert await page.locator("#pg-send").is_enabled()
    shown = await answer.inner_text()
    await page.wait_for_timeout(1200)
    assert await answer.inner_text() == shown  # nothing arrives after Stop
    assert not shown.rstrip().endswith("while")  # the answer was cut short


async def test_user_without_chat_subscription_sees_empty_state(browser: Browser, playground_portal):
    page = await _user(browser, playground_portal, EMBED)
    await expect(page.get_by_test_id("playground-empty")).to_be_visible()
    assert await page.locator("#pg-model").count() == 0
    await check_page(page, "playground-empty")
    response = await page.request.post(
        playground_portal.url + "/playground/chat",
        data={"model": EMBED, "messages": [{"role": "user", "content": "hi"}]},
        headers=await _csrf(page),
    )
    assert response.status == 403 and (await response.json())["error"] == "playground_model_not_available"


async def test_playground_limit_is_enforced_by_litellm_with_a_clear_message(browser: Browser, playground_portal):
    page = await _user(browser, playground_portal, CHAT)
    headers = await _csrf(page)
    body = {"model": CHAT, "messages": [{"role": "user", "content": "count me"}], "max_tokens": 4}
    statuses = []
    for _ in range(RPM_LIMIT):
        response = await page.request.post(playground_portal.url + "/playground/chat", data=body, headers=headers)
        statuses.append(response.status)
        await response.body()
    assert statuses == [200] * RPM_LIMIT
    await _send(page, "one more")
    error = page.get_by_test_id("playground-error")
    await expect(error).to_be_visible(timeout=15_000)
    assert await error.get_attribute("data-error-code") == "playground_rate_limited"
    assert "playground limit" in await error.inner_text()
    assert await page.locator("#pg-prompt").input_value() == "one more"  # ready to send again


async def test_chat_needs_the_csrf_token(browser: Browser, playground_portal, litellm_stack):
    page = await _user(browser, playground_portal, CHAT)
    marker = uuid.uuid4().hex
    response = await page.request.post(
        playground_portal.url + "/playground/chat",
        data={"model": CHAT, "messages": [{"role": "user", "content": marker}]},
    )
    assert response.status == 403
    assert _sim_requests(litellm_stack, marker) == []


async def test_spend_is_the_users_and_no_secret_is_kept(
    browser: Browser, playground_portal, litellm_stack, backend_database_url, redis_prefix
):
    page = await _user(browser, playground_portal, CHAT)
    await _send(page, "what does this cost?")
    await _answered(page, 1)
    username = await page.get_by_test_id("username").inner_text()
    user_id, key_id, key_hash, purpose = db_rows(
        backend_database_url,
        "SELECT u.id, k.id, k.token_hash, k.purpose FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username = %s AND k.status = 'active'",
        username,
    )[0]
    assert purpose == "playground"
    secret = derive_secret(litellm_stack.master_key, key_id)
    assert token_hash(secret) == key_hash

    # LiteLLM attributes the call to the user, through the playground key and its tag.
    rows = _spend_rows(litellm_stack, key_hash)
    assert rows and rows[0]["user"] == str(user_id) and rows[0]["model_group"] == CHAT
    assert PLAYGROUND_TAG in json.dumps(rows[0]["request_tags"])
    with litellm_stack.db() as conn:
        alias, metadata = conn.execute(
            'SELECT key_alias, metadata FROM "LiteLLM_VerificationToken" WHERE token = %s', (key_hash,)
        ).fetchone()
    assert alias == f"{username}/_playground" and metadata["litemaas_purpose"] == "playground"
    # The key API does not show it.
    keys = await page.request.get(playground_portal.url + "/api/v1/keys")
    assert (await keys.json())["items"] == []

    # The secret is nowhere: not in either database, Redis, the proxy's log, the page or the browser.
    assert secret not in json.dumps(rows, default=str)
    assert secret not in litellm_stack.proxy.log_path.read_text(errors="replace")
    tables = [r[0] for r in db_rows(backend_database_url, "SELECT tablename FROM pg_tables WHERE schemaname='public'")]
    assert all(secret not in db_dump(backend_database_url, t) for t in tables)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in client.scan_iter(match=f"{redis_prefix}*"):
            value = client.dump(name) or b""
            assert secret.encode() not in value and secret.encode() not in name
    finally:
        client.close()
    assert secret not in await page.content()
    storage = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"
    )
    assert "sk-" not in storage and secret not in json.dumps(await page.context.storage_state())


def _spend_rows(litellm_stack: Any, key_hash: str, timeout: float = 90.0) -> list[dict[str, Any]]:
    """The key's ``LiteLLM_SpendLogs`` rows, once LiteLLM's batched writer has flushed them."""
    deadline = time.monotonic() + timeout
    while True:
        with litellm_stack.db() as conn:
            cursor = conn.execute('SELECT * FROM "LiteLLM_SpendLogs" WHERE api_key = %s', (key_hash,))
            names = [column.name for column in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(1)
