"""The end-to-end story as a new user lives it, on the real backend, real LiteLLM proxy and simulator."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import openai
import pytest

from litemaas.litellm_admin import LiteLLMAdminClient
from litemaas.litellm_admin.dependencies import get_optional_litellm_admin
from tests.support.stack import CHAT, CHAT_2, GUARD, api, chat, db_dump, db_rows, sdk, start_proxy

pytestmark = pytest.mark.asyncio


async def test_new_user_story(
    login: Any, litellm_stack: Any, litellm_admin: Any, backend_database_url: str, capsys: Any, caplog: Any
) -> None:
    # 1. Log in with the development login and look at the catalog.
    user = api(await login(f"attendee-{uuid.uuid4().hex[:6]}"))
    admin = api(await login(role="admin"))
    catalog = {m["name"]: m for m in (await user.call("GET", "/models", 200)).json()}
    assert catalog[CHAT]["restricted"] is False and catalog[GUARD]["restricted"] is True

    # 2. Subscribe: the open model at once, the restricted one waits for an admin.
    chat_sub = await user.subscribe(CHAT)
    guard_sub = await user.subscribe(GUARD)
    assert (chat_sub["status"], guard_sub["status"]) == ("active", "pending")
    queue = (await admin.call("GET", "/admin/subscriptions", 200, params={"status": "pending", "model": GUARD})).json()
    assert guard_sub["id"] in [s["id"] for s in queue["items"]]
    assert (await admin.decide(guard_sub["id"], "approve"))["status"] == "active"

    # 3. Create a key for both models with a small RPM limit; the secret is shown once.
    created = await user.create_key([CHAT, GUARD], alias="workshop", rpm_limit=4)
    secret = created["key"]
    client = sdk(litellm_stack, secret)

    # 4. Use it with the OpenAI SDK.
    reply = await chat(client, CHAT, "What is Granite?")
    assert reply.choices[0].message.content and reply.usage.total_tokens > 0
    verdict = await chat(client, GUARD, "How do I bake bread?")
    assert verdict.choices[0].message.content.strip().startswith("safe")
    with pytest.raises(openai.APIStatusError) as not_on_key:
        await chat(client, CHAT_2)
    assert not_on_key.value.status_code in (401, 403)

    # 5. Hit the RPM limit.
    statuses = []
    for _ in range(4):
        try:
            await chat(client, CHAT)
            statuses.append(200)
        except openai.RateLimitError as exc:
            statuses.append(exc.status_code)
    assert 429 in statuses

    # 6. Rotate: the old secret is refused at once, the new one works (same alias, models, limits).
    rotated = (await user.call("POST", f"/keys/{created['id']}/rotate", 200)).json()
    assert (rotated["alias"], rotated["rpm_limit"], sorted(rotated["models"])) == ("workshop", 4, sorted([CHAT, GUARD]))
    with pytest.raises(openai.AuthenticationError):
        await chat(client, CHAT)
    new_client = sdk(litellm_stack, rotated["key"])
    assert (await chat(new_client, CHAT)).choices

    # 7. Cancelling removes the model from the key in LiteLLM; subscribing again restores it.
    await user.call("POST", f"/subscriptions/{chat_sub['id']}/cancel", 200)
    with pytest.raises(openai.APIStatusError):
        await chat(new_client, CHAT)
    await user.subscribe(CHAT)
    assert (await chat(new_client, CHAT)).choices

    # 8. Revoke: refused from then on.
    await user.call("POST", f"/keys/{created['id']}/revoke", 200)
    with pytest.raises(openai.AuthenticationError):
        await chat(new_client, CHAT)

    # No full key anywhere after creation: responses, audit table, logs.
    issued = [secret, rotated["key"]]
    shown_once = {id(r) for r in user.responses if r.request.method == "POST" and '"key":"sk-' in r.text}
    assert len(shown_once) == 2
    for response in user.responses + admin.responses:
        if id(response) not in shown_once:
            assert not any(s in response.text for s in issued)
    audit = db_dump(backend_database_url, "audit_events")
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "api_key.rotate" in audit and "api_key.rotate.done" in logs
    for s in issued:
        assert s not in audit and s not in logs
    assert not re.search(r"sk-[A-Za-z0-9_\-]{30,}", audit)


async def test_admin_readonly_cannot_change_anything(login: Any, app: Any) -> None:
    readonly = api(await login(role="admin_readonly"))
    user = api(await login())
    sub = await user.subscribe(CHAT)
    key = await user.create_key([CHAT])
    ids = {
        "subscription_id": sub["id"],
        "key_id": key["id"],
        "user_id": (await user.me())["user_id"],
        "model_ref": CHAT,
    }
    spec = app.openapi()
    mine = (
        "/api/v1/admin/models",
        "/api/v1/admin/subscriptions",
        "/api/v1/admin/keys",
        "/api/v1/admin/users/{user_id}/",
    )
    mine += ("/api/v1/admin/settings/api-keys", "/api/v1/admin/reconcile")
    checked = 0
    for path, methods in spec["paths"].items():
        if not path.startswith(mine):
            continue
        for method in methods:
            if method == "get":
                continue
            url = path.format(**ids).removeprefix("/api/v1")
            response = await readonly.call(method.upper(), url, None, json={})
            assert response.status_code == 403, (method, path, response.status_code)
            checked += 1
    assert checked >= 17
    # ... while every admin view answers.
    for path in ("/admin/models", "/admin/subscriptions", "/admin/keys", "/admin/settings/api-keys"):
        await readonly.call("GET", path, 200)
    assert (await user.call("GET", f"/subscriptions/{sub['id']}", 200)).json()["status"] == "active"
    assert (await user.call("GET", f"/keys/{key['id']}", 200)).json()["status"] == "active"


async def test_litellm_stopped_gives_503_without_half_state_and_reconcile_repairs(
    login: Any, app: Any, litellm_stack: Any, litellm_admin: LiteLLMAdminClient, backend_database_url: str
) -> None:
    """A second, real proxy on the same LiteLLM database is stopped mid-story."""
    user = api(await login())
    admin = api(await login(role="admin"))
    chat_sub = await user.subscribe(CHAT)
    kept = await user.create_key([CHAT], alias="kept")

    second = await asyncio.to_thread(
        start_proxy,
        db_url=litellm_stack.litellm_database_url,
        master_key=litellm_stack.master_key,
        simulator_url=litellm_stack.simulator_url,
    )
    other = LiteLLMAdminClient(second.url, litellm_stack.master_key, retries=1, retry_backoff=0.05)
    routes_client = app.dependency_overrides[get_optional_litellm_admin]
    app.dependency_overrides[get_optional_litellm_admin] = lambda: other
    try:
        made = await user.create_key([CHAT], alias="via-second")
        assert (await chat(sdk(litellm_stack, made["key"]))).choices  # shared database: usable on the main proxy
        await asyncio.to_thread(second.stop)

        down = await user.call("POST", "/keys", 503, json={"alias": "while-down", "models": [CHAT]})
        assert down.json()["error"] == "upstream_unavailable"
        await user.call("POST", f"/keys/{kept['id']}/revoke", 503)
        await user.call("POST", f"/keys/{made['id']}/rotate", 503)
        await user.call("POST", f"/subscriptions/{chat_sub['id']}/cancel", 503)
    finally:
        app.dependency_overrides[get_optional_litellm_admin] = routes_client
        await other.aclose()
        second.stop()

    rows = db_rows(
        backend_database_url,
        "SELECT alias, status FROM api_keys WHERE user_id = %s ORDER BY alias",
        (await user.me())["user_id"],
    )
    assert rows == [("kept", "active"), ("via-second", "active")]
    assert (await user.call("GET", f"/subscriptions/{chat_sub['id']}", 200)).json()["status"] == "active"
    assert (await chat(sdk(litellm_stack, kept["key"]))).choices
    report = (await admin.call("POST", "/admin/reconcile", 200)).json()
    assert report["errors"] == []
    assert not [c for c in report["changes"] if kept["id"] in c["target"] or made["id"] in c["target"]]
