"""/admin/users in a real browser, against the real backend, LiteLLM proxy and simulator.

The admin finds a user by search and filters (bookmarkable query string), grants a restricted
model directly, creates a key for the user (secret shown once, it works at the proxy), changes
the user's limits, and edits the defaults for new users and applies them to all with per-user
results. A read-only admin sees the same pages with every control disabled, and the API refuses
its writes anyway.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.support.stack import GUARD, chat, sdk
from tests.web.portal_support import check_page

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def defaults_kept(stack_api: Any) -> AsyncIterator[Any]:
    admin = await stack_api("admin")
    before = (await admin.get("/api/v1/admin/settings/user-defaults")).json()
    yield admin
    restored = await admin.put("/api/v1/admin/settings/user-defaults", json=before)
    assert restored.status_code == 200, restored.text


async def _new_user(stack_api: Any) -> tuple[str, str]:
    username = f"au-{uuid.uuid4().hex[:8]}"
    client = await stack_api("user", username)
    me = (await client.get("/api/v1/auth/me")).json()
    return username, me["user_id"]


async def test_admin_manages_a_user_from_the_console(
    stack_login: Any, stack_api: Any, stack_portal_server: Any, litellm_stack: Any, defaults_kept: Any
) -> None:
    admin_api = defaults_kept
    username, user_id = await _new_user(stack_api)
    page = await stack_login("admin", next_path=f"/admin/users?q={username}&active=true&provider=dev")
    await expect(page.get_by_test_id("users-count")).to_contain_text("1 user")
    row = page.get_by_test_id("user-row")
    await expect(row).to_have_count(1)
    await expect(page.get_by_test_id("users-search")).to_have_value(username)
    await check_page(page, "admin-users")
    await row.get_by_role("link", name=username).click()
    await expect(page.get_by_test_id("user-title")).to_have_text(username)
    await expect(page.get_by_test_id("role-manual")).to_have_text("none")

    # Grant the restricted model directly (no approval request).
    await page.get_by_test_id("grant-model").select_option(GUARD)
    await page.get_by_test_id("grant-submit").click()
    await expect(page.locator(f"[data-testid=subscription-row][data-model='{GUARD}']")).to_have_attribute(
        "data-status", "active"
    )
    audit = (await admin_api.get("/api/v1/admin/audit", params={"action": "subscription.grant"})).json()["items"]
    assert any(e["after"]["user_id"] == user_id for e in audit)

    # Limits.
    await page.get_by_test_id("limit-tpm_limit").fill("12345")
    await page.get_by_test_id("limits-save").click()
    await expect(page.get_by_test_id("limit-tpm_limit")).to_have_value("12345")
    limits = (await admin_api.get(f"/api/v1/admin/users/{user_id}/limits")).json()
    assert limits["tpm_limit"] == 12345
    await check_page(page, "admin-user")

    # A key for the user: the secret once, in a dialog; it works at the proxy.
    await page.get_by_test_id("key-alias").fill("handout")
    await page.get_by_test_id("key-model").check()
    await page.get_by_test_id("key-create").click()
    secret = await page.get_by_test_id("secret-value").input_value()
    assert secret.startswith("sk-")
    await page.get_by_test_id("secret-done").click()
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)
    reply = await chat(sdk(litellm_stack, secret), model=GUARD)
    assert reply.choices
    await page.reload()
    await expect(page.locator("[data-testid=user-key-row][data-alias=handout]")).to_have_attribute(
        "data-status", "active"
    )
    assert secret not in await page.content()
    await page.get_by_test_id("key-revoke").click()
    await expect(page.locator("[data-testid=user-key-row][data-alias=handout]")).to_have_attribute(
        "data-status", "revoked"
    )


async def test_defaults_form_and_apply_to_all(stack_login: Any, stack_api: Any, defaults_kept: Any) -> None:
    admin_api = defaults_kept
    page = await stack_login("admin", next_path="/admin/users")
    await page.get_by_test_id("default-rpm_limit").fill("0")
    await page.get_by_test_id("defaults-save").click()
    await expect(page.get_by_test_id("default-rpm_limit")).to_have_attribute("aria-invalid", "true")
    await page.get_by_test_id("default-rpm_limit").fill("321")
    await page.get_by_test_id("default-budget_duration").fill("7d")
    await page.get_by_test_id("defaults-save").click()
    await expect(page.get_by_test_id("default-rpm_limit")).to_have_value("321")
    assert (await admin_api.get("/api/v1/admin/settings/user-defaults")).json()["rpm_limit"] == 321

    _, user_id = await _new_user(stack_api)
    await admin_api.put(f"/api/v1/admin/users/{user_id}/limits", json={"rpm_limit": 5})
    await page.get_by_test_id("apply-defaults").click()
    await page.get_by_test_id("confirm-apply").click()
    # Every user of the session's shared database (hundreds) is updated at LiteLLM first; the
    # dialog lists the first 200 results, so this user is checked through its limits.
    summary = page.get_by_test_id("apply-summary")
    await expect(summary).to_contain_text("failed: 0", timeout=120_000)
    applied, unchanged, failed = (int(n) for n in re.findall(r"\d+", await summary.inner_text()))
    assert applied >= 1 and failed == 0
    rows = page.get_by_test_id("apply-result")
    assert await rows.count() == min(applied + unchanged, 200)
    assert (await admin_api.get(f"/api/v1/admin/users/{user_id}/limits")).json()["rpm_limit"] == 321


async def test_readonly_admin_sees_disabled_controls_and_the_api_refuses(stack_login: Any, stack_api: Any) -> None:
    _, user_id = await _new_user(stack_api)
    page = await stack_login("admin_readonly", next_path="/admin/users")
    await expect(page.get_by_test_id("readonly-notice")).to_be_visible()
    await expect(page.get_by_test_id("defaults-save")).to_be_disabled()
    await expect(page.get_by_test_id("apply-defaults")).to_be_disabled()
    await page.goto(page.url.split("/admin/")[0] + f"/admin/users/{user_id}")
    await expect(page.get_by_test_id("readonly-notice")).to_be_visible()
    for testid in ("role-save", "active-toggle", "limits-save", "spend-reset", "grant-submit", "key-create"):
        await expect(page.get_by_test_id(testid)).to_be_disabled()
    await check_page(page, "admin-user-readonly")

    readonly = await stack_api("admin_readonly")
    for method, path, body in (
        ("PUT", "/api/v1/admin/settings/user-defaults", {"rpm_limit": 1}),
        ("POST", "/api/v1/admin/users/apply-defaults", {"confirm": True}),
        ("POST", f"/api/v1/admin/users/{user_id}/subscriptions", {"model": GUARD}),
        ("PUT", f"/api/v1/admin/users/{user_id}/limits", {"rpm_limit": 1}),
        ("POST", f"/api/v1/admin/users/{user_id}/reset-spend", None),
        ("POST", f"/api/v1/admin/users/{user_id}/keys", {"alias": "x", "models": [GUARD]}),
    ):
        response = await readonly.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
    # The page's own form posts are refused too.
    csrf = {c["name"]: c["value"] for c in await page.context.cookies()}["litemaas_csrf"]
    response = await page.request.post(
        page.url.split("/admin/")[0] + f"/admin/users/{user_id}/limits",
        form={"csrf_token": csrf, "rpm_limit": "1"},
    )
    assert response.status == 403
