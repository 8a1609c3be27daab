"""The approval queue (/admin/approvals), its API, client, CLI and README script, against the real stack.

The approver story: a user requests a restricted model, the admin approves it from the queue,
and the user's key now works at the real LiteLLM proxy. A read-only admin sees the page with
every control disabled, and both the page's and the API's writes refuse them.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from typer.testing import CliRunner

from litemaas.cli import app as cli
from litemaas.client import LiteMaaSAPIError, LiteMaaSClient
from litemaas.config import get_settings
from tests.support.stack import CHAT, GUARD
from tests.web.portal_support import check_page

REPO = Path(__file__).resolve().parents[2]


async def _user(stack_api: Any, name: str) -> httpx.AsyncClient:
    return await stack_api("user", username=name)


async def _request(client: httpx.AsyncClient, model: str, reason: str | None = None) -> dict[str, Any]:
    response = await client.post("/api/v1/subscriptions", json={"model": model, "reason": reason})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _key(client: httpx.AsyncClient, models: list[str]) -> dict[str, Any]:
    response = await client.post("/api/v1/keys", json={"alias": f"k-{uuid.uuid4().hex[:6]}", "models": models})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _proxy_chat(litellm_stack: Any, key: str, model: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=litellm_stack.proxy_url, timeout=60) as proxy:
        return await proxy.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
        )


async def test_approver_story_from_the_queue_to_the_proxy(
    stack_login: Any, stack_api: Any, stack_portal_server: Any, litellm_stack: Any
) -> None:
    name = f"requester-{uuid.uuid4().hex[:8]}"
    user = await _user(stack_api, name)
    sub = await _request(user, GUARD, reason="safety evaluation for the workshop")
    assert sub["status"] == "pending"
    assert (await _request(user, CHAT))["status"] == "active"
    key = await _key(user, [CHAT])
    # Not yet: the key cannot carry the restricted model and the proxy refuses it.
    refused = await user.post("/api/v1/keys", json={"alias": "early", "models": [GUARD]})
    assert refused.status_code == 400
    assert (await _proxy_chat(litellm_stack, key["key"], GUARD)).status_code in (401, 403)

    page = await stack_login("admin", next_path=f"/admin/approvals?model={GUARD}&user={name}")
    await expect(page.get_by_test_id("approvals-badge")).to_be_visible()
    row = page.locator(f'[data-testid="approval-row"][data-subscription-id="{sub["id"]}"]')
    await expect(row.get_by_test_id("approval-reason")).to_have_text("safety evaluation for the workshop")
    await expect(page.get_by_test_id("approval-row")).to_have_count(1)
    await check_page(page, "admin-approvals")
    pending_before = int(await page.get_by_test_id("counter-pending").inner_text())
    await row.get_by_test_id("select-row").check()
    await page.get_by_test_id("bulk-approve").click()
    result = page.locator(f'[data-testid="result-row"][data-subscription-id="{sub["id"]}"]')
    await expect(result).to_have_attribute("data-ok", "true")
    await expect(result.get_by_test_id("subscription-status")).to_have_text("Active")
    assert int(await page.get_by_test_id("counter-pending").inner_text()) <= pending_before - 1
    assert int(await page.get_by_test_id("counter-approved").inner_text()) >= 1

    # The user's key for the model now works at the real proxy.
    now = (await user.get(f"/api/v1/subscriptions/{sub['id']}")).json()
    assert now["status"] == "active"
    guard_key = await _key(user, [GUARD])
    answered = await _proxy_chat(litellm_stack, guard_key["key"], GUARD)
    assert answered.status_code == 200, answered.text

    # History, then revert from the queue: back to pending, and the key loses the model at once.
    await page.goto(f"{stack_portal_server.url}/admin/approvals?status=active&user={name}&model={GUARD}")
    row = page.locator(f'[data-testid="approval-row"][data-subscription-id="{sub["id"]}"]')
    await row.get_by_test_id("approval-history").click()
    await expect(page.get_by_test_id("history-row")).to_have_count(2)
    await page.keyboard.press("Escape")
    await row.get_by_test_id("approval-revert").click()
    result = page.locator(f'[data-testid="result-row"][data-subscription-id="{sub["id"]}"]')
    await expect(result.get_by_test_id("subscription-status")).to_have_text("Pending approval")
    assert (await _proxy_chat(litellm_stack, guard_key["key"], GUARD)).status_code in (401, 403)

    # A denial without a reason is refused on the page, naming the problem; nothing changes.
    await page.goto(f"{stack_portal_server.url}/admin/approvals?user={name}")
    await page.locator(f'[data-subscription-id="{sub["id"]}"]').get_by_test_id("select-row").check()
    await page.get_by_test_id("bulk-deny").click()
    await expect(page.get_by_test_id("decision-error")).to_be_visible()
    assert (await user.get(f"/api/v1/subscriptions/{sub['id']}")).json()["status"] == "pending"


async def test_readonly_admin_sees_disabled_controls_and_every_write_is_refused(
    stack_login: Any, stack_api: Any, stack_portal_server: Any
) -> None:
    name = f"ro-target-{uuid.uuid4().hex[:8]}"
    sub = await _request(await _user(stack_api, name), GUARD)
    page = await stack_login("admin_readonly", next_path=f"/admin/approvals?user={name}")
    await expect(page.get_by_test_id("readonly-notice")).to_be_visible()
    await expect(page.get_by_test_id("approval-row")).to_have_count(1)
    await expect(page.get_by_test_id("select-row")).to_be_disabled()
    await expect(page.get_by_test_id("bulk-approve")).to_be_disabled()
    await expect(page.get_by_test_id("bulk-deny")).to_be_disabled()
    await expect(page.get_by_test_id("decision-reason")).to_be_disabled()
    await check_page(page, "admin-approvals-readonly")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    csrf = cookies["litemaas_csrf"]
    forged = await page.request.post(
        "/admin/approvals/decide",
        form={"csrf_token": csrf, "action": "approve", "ids": sub["id"]},
        max_redirects=0,
    )
    assert forged.status == 403
    reverted = await page.request.post(
        f"/admin/approvals/{sub['id']}/revert", form={"csrf_token": csrf}, max_redirects=0
    )
    assert reverted.status == 403
    readonly = await stack_api("admin_readonly")
    bulk = await readonly.post("/api/v1/admin/subscriptions/bulk", json={"action": "approve", "ids": [sub["id"]]})
    assert bulk.status_code == 403
    assert (await readonly.get("/api/v1/admin/subscriptions/counters")).status_code == 200
    admin = await stack_api("admin")
    assert (await admin.get(f"/api/v1/admin/subscriptions/{sub['id']}")).json()["status"] == "pending"
    # A plain user sees neither the page nor the API.
    plain = await stack_api("user")
    assert (await plain.get("/admin/approvals")).status_code == 403
    assert (await plain.get("/api/v1/admin/subscriptions/counters")).status_code == 403


async def test_queue_filters_counters_and_one_key_update_per_key(stack_api: Any) -> None:
    admin = await stack_api("admin")
    names = [f"batch-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    users = [await _user(stack_api, n) for n in names]
    subs = [await _request(u, GUARD) for u in users]
    open_sub = await _request(users[0], CHAT)
    params: list[tuple[str, str]] = [("user", n) for n in names]
    both = (
        await admin.get("/api/v1/admin/subscriptions", params=[*params, ("status", "pending"), ("status", "active")])
    ).json()
    assert both["total"] == 4
    only_pending = (await admin.get("/api/v1/admin/subscriptions", params=[*params, ("status", "pending")])).json()
    assert {i["id"] for i in only_pending["items"]} == {s["id"] for s in subs}
    by_models = (
        await admin.get("/api/v1/admin/subscriptions", params=[*params, ("model", CHAT), ("model", GUARD)])
    ).json()
    assert by_models["total"] == 4
    bad = await admin.get("/api/v1/admin/subscriptions", params={"status": "maybe"})
    assert bad.status_code in (400, 422)

    before = (await admin.get("/api/v1/admin/subscriptions/counters")).json()
    approved = (
        await admin.post("/api/v1/admin/subscriptions/bulk", json={"action": "approve", "ids": [s["id"] for s in subs]})
    ).json()
    assert approved["succeeded"] == 3
    # Each user gets two keys on the model; a bulk denial then updates each key once.
    # (only users[0] subscribed to CHAT, so only their first key carries it).
    for i, u in enumerate(users):
        await _key(u, [GUARD, CHAT] if i == 0 else [GUARD])
        await _key(u, [GUARD])
    ids = [s["id"] for s in subs] + [open_sub["id"], str(uuid.uuid4())]
    denied = (
        await admin.post("/api/v1/admin/subscriptions/bulk", json={"action": "deny", "ids": ids, "reason": "quota"})
    ).json()
    assert denied["succeeded"] == 4 and denied["failed"] == 1
    # Six keys lose GUARD (users[0]'s first key loses CHAT too): one LiteLLM call per key, not per request.
    assert denied["keys_updated"] == 6
    after = (await admin.get("/api/v1/admin/subscriptions/counters")).json()
    assert after["approved_today"] >= before["approved_today"] + 3
    assert after["denied_today"] >= before["denied_today"] + 4
    page = await admin.get("/admin/approvals", params={"status": "denied,pending", "user": ",".join(names)})
    assert page.status_code == 200 and all(n in page.text for n in names)
    assert (await admin.get("/admin/approvals", params={"since": "yesterday"})).status_code == 400


@pytest.fixture
def admin_token(stack_portal_server: Any) -> str:
    with httpx.Client(base_url=stack_portal_server.url, timeout=60) as admin:
        response = admin.post("/auth/dev", data={"username": f"script-admin-{uuid.uuid4().hex[:6]}", "role": "admin"})
        assert response.status_code == 303
        admin.headers["X-CSRF-Token"] = admin.cookies["litemaas_csrf"]
        created = admin.post("/api/v1/admin/tokens", json={"name": "approvals-script", "role": "admin"})
        assert created.status_code == 201, created.text
        return str(created.json()["token"])


def _readme_example() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(r"<!-- approve-pending-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert found, "README lost its approve-pending example"
    return found.group(1)


async def test_client_readme_script_and_cli(
    stack_api: Any,
    stack_portal_server: Any,
    admin_token: str,
    backend_database_url: str,
    litellm_stack: Any,
    monkeypatch: Any,
) -> None:
    names = [f"script-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    subs = [await _request(await _user(stack_api, n), GUARD) for n in names]

    def client_calls() -> None:
        with LiteMaaSClient(stack_portal_server.url, admin_token) as api:
            items, total = api.list_subscriptions(statuses=["pending"], users=names)
            assert total == 2 and {s.model_name for s in items} == {GUARD}
            with pytest.raises(LiteMaaSAPIError) as missing_reason:
                api.deny([str(subs[0]["id"])], reason="")
            assert missing_reason.value.status == 400
            assert api.approval_counters().pending >= 2

    await asyncio.to_thread(client_calls)

    # The README's script, as written, approves every pending request for the model.
    env = {**os.environ, "LITEMAAS_URL": stack_portal_server.url, "LITEMAAS_TOKEN": admin_token, "MODEL": GUARD}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", _readme_example()], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "pending request(s) for" in done.stdout
    admin = await stack_api("admin")
    for s in subs:
        assert (await admin.get(f"/api/v1/admin/subscriptions/{s['id']}")).json()["status"] == "active"

    def history_and_revert() -> None:
        with LiteMaaSClient(stack_portal_server.url, admin_token) as api:
            assert [h["action"] for h in api.subscription_history(subs[0]["id"])][-1] == "approve"
            assert api.revert_decision(subs[0]["id"]).status == "pending"

    await asyncio.to_thread(history_and_revert)

    # The CLI, on the server side (database + LiteLLM settings).
    monkeypatch.setenv("LITEMAAS_DATABASE_URL", backend_database_url)
    monkeypatch.setenv("LITEMAAS_PROXY_URL", litellm_stack.proxy_url)
    monkeypatch.setenv("LITEMAAS_MASTER_KEY", litellm_stack.master_key)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = await asyncio.to_thread(runner.invoke, cli, ["approvals", "list", "--user", names[0]])
        assert listed.exit_code == 0, listed.output
        assert str(subs[0]["id"]) in listed.output
        no_reason = await asyncio.to_thread(runner.invoke, cli, ["approvals", "deny", str(subs[0]["id"])])
        assert no_reason.exit_code != 0  # --reason is required to deny
        denied = await asyncio.to_thread(
            runner.invoke, cli, ["approvals", "deny", str(subs[0]["id"]), str(uuid.uuid4()), "--reason", "cli"]
        )
        assert denied.exit_code == 1, denied.output  # one of the two failed: exit 1, both reported
        assert f"{subs[0]['id']} ok denied" in denied.output and "FAILED not_found" in denied.output
        approved = await asyncio.to_thread(
            runner.invoke, cli, ["approvals", "approve", str(subs[0]["id"]), "--reason", "after all"]
        )
        assert approved.exit_code == 0, approved.output
    finally:
        get_settings.cache_clear()
    assert (await admin.get(f"/api/v1/admin/subscriptions/{subs[0]['id']}")).json()["status"] == "active"
