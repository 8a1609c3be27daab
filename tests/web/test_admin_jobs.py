"""The Jobs page in a real browser: dry run then run of the key cleanup and reconcile, the last
runs table; a read-only admin sees every control disabled and the API refuses the runs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.stack import CHAT, db_rows
from tests.web.portal_support import check_page

pytestmark = pytest.mark.asyncio


async def test_admin_runs_the_key_cleanup_and_reconcile(stack_login: Any, stack_api: Any, portal_settings: Any) -> None:
    user = await stack_api("user")
    assert (await user.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
    created = await user.post("/api/v1/keys", json={"models": [CHAT], "alias": "old-laptop"})
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    db_rows(
        portal_settings.database_url,
        "UPDATE api_keys SET created_at = now() - interval '90 days' WHERE id = %s RETURNING id",
        key_id,
    )

    page = await stack_login("admin", next_path="/admin/jobs")
    await expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    await expect(page.get_by_test_id("readonly-notice")).to_have_count(0)

    async with page.expect_navigation():
        await page.get_by_test_id("cleanup-dry-run").click()
    await expect(page.get_by_test_id("cleanup-summary")).to_contain_text("cleanup-keys (dry run):")
    await expect(page.get_by_test_id("cleanup-items")).to_contain_text("old-laptop")
    state = db_rows(portal_settings.database_url, "SELECT status FROM api_keys WHERE id = %s", key_id)
    assert state == [("active",)]  # the dry run changed nothing

    async with page.expect_navigation():
        await page.get_by_test_id("cleanup-run").click()
    await expect(page.get_by_test_id("cleanup-summary")).to_contain_text("deleted")
    state = db_rows(portal_settings.database_url, "SELECT status, revoked_reason FROM api_keys WHERE id = %s", key_id)
    assert state == [("revoked", "key cleanup: older than 30 days")]

    async with page.expect_navigation():
        await page.get_by_test_id("reconcile-dry-run").click()
    await expect(page.get_by_test_id("reconcile-summary")).to_contain_text("reconcile (dry run):")

    runs = page.get_by_test_id("runs-table")
    for dry in ("true", "false"):
        done = runs.locator(f'[data-job="cleanup-keys"][data-status="succeeded"][data-dry="{dry}"]')
        await expect(done.first).to_be_visible()
    await expect(runs.locator('[data-job="reconcile"]').first).to_be_visible()

    await page.goto(page.url.split("/admin/")[0] + "/admin/jobs?job=cleanup-keys")
    await expect(page.get_by_test_id("runs-table").locator('[data-job="reconcile"]')).to_have_count(0)
    await check_page(page, "admin-jobs")


async def test_readonly_admin_sees_disabled_controls_and_the_api_refuses(stack_login: Any) -> None:
    page = await stack_login("admin_readonly", next_path="/admin/jobs")
    await expect(page.get_by_test_id("readonly-notice")).to_be_visible()
    for name in ("cleanup-dry-run", "cleanup-run", "reconcile-dry-run", "reconcile-run"):
        await expect(page.get_by_test_id(name)).to_be_disabled()
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    headers = {"X-CSRF-Token": cookies["litemaas_csrf"]}
    for path in ("/api/v1/admin/jobs/cleanup-keys?dry_run=true", "/api/v1/admin/jobs/reconcile?dry_run=true"):
        response = await page.request.post(path, headers=headers)
        assert response.status == 403, path
    # The page's own form route refuses too, with a valid CSRF token.
    response = await page.request.post(
        "/admin/jobs/cleanup-keys", form={"mode": "run", "csrf_token": cookies["litemaas_csrf"]}
    )
    assert response.status == 403
    await check_page(page, "admin-jobs-readonly")
