"""The backups console: an admin backs up now and runs a test restore; a read-only admin only looks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from litemaas.config import Settings
from tests.support.backend import free_port
from tests.web.portal_support import PortalServer, check_page, login_as, serve_app

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def backups_portal(portal_settings: Settings, litellm_database: str, tmp_path_factory) -> Iterator[PortalServer]:
    """A portal whose backups go to a fresh directory (both databases real, no proxy needed)."""
    from litemaas.app import create_app

    port = free_port()
    directory: Path = tmp_path_factory.mktemp("console-backups")
    settings = portal_settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "litellm_database_url": litellm_database,
            "backup_storage": "local",
            "backup_local_dir": directory,
        }
    )
    app = create_app(settings, configure_logs=False)
    with serve_app(app, port) as url:
        yield PortalServer(url=url, app=app)


async def test_admin_backs_up_and_test_restores_from_the_console(browser: Browser, backups_portal: PortalServer):
    page = await login_as(browser, backups_portal.url, role="admin", next_path="/admin/backups")
    # Both forms answer when the work is done: a busy machine needs more than the default 30 s.
    page.set_default_timeout(300_000)
    page.set_default_navigation_timeout(300_000)
    try:
        await expect(page.get_by_test_id("no-backups")).to_be_visible()
        async with page.expect_navigation():
            await page.get_by_test_id("create-backup").click()
        await expect(page.get_by_test_id("done")).to_be_visible()
        rows = page.get_by_test_id("backup-row")
        await expect(rows).to_have_count(1)
        backup_id = await rows.first.get_attribute("data-backup-id")
        state = rows.first.locator("[data-state]")
        await expect(state).to_have_attribute("data-state", "ok")
        await expect(state).to_have_attribute("data-kind", "verify")

        async with page.expect_navigation():
            await rows.first.get_by_test_id("test-restore").click()
        assert f"backup={backup_id}" in page.url
        detail = page.get_by_test_id("backup-detail")
        await expect(detail).to_be_visible()
        await expect(detail.get_by_test_id("counts")).to_have_count(2)
        for role in ("litemaas", "litellm"):
            counts = detail.locator(f"[data-role={role}]").get_by_test_id("counts")
            await expect(counts).to_contain_text("Row counts match")
        await expect(page.get_by_test_id("backup-row").first.locator("[data-state]")).to_have_attribute(
            "data-kind", "test_restore"
        )
        await check_page(page, "admin-backups")
    finally:
        await page.context.close()


async def test_read_only_admin_sees_disabled_controls_and_is_refused(browser: Browser, backups_portal: PortalServer):
    page = await login_as(browser, backups_portal.url, role="admin_readonly", next_path="/admin/backups")
    try:
        await expect(page.get_by_test_id("read-only")).to_be_visible()
        await expect(page.get_by_test_id("create-backup")).to_be_disabled()
        for button in await page.get_by_test_id("test-restore").all():
            await expect(button).to_be_disabled()
        cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        headers = {"X-CSRF-Token": cookies["litemaas_csrf"]}
        refused = await page.request.post("/admin/backups/create", form={"action": "create"}, headers=headers)
        assert refused.status == 403
        api = await page.request.post("/api/v1/admin/backups", data={}, headers=headers)
        assert api.status == 403
        listed = await page.request.get("/api/v1/admin/backups")
        assert listed.status == 200
        before = (await listed.json())["total"]
        assert (await (await page.request.get("/api/v1/admin/backups")).json())["total"] == before
    finally:
        await page.context.close()


async def test_a_user_gets_the_forbidden_page(backups_portal: PortalServer):
    async with httpx.AsyncClient(base_url=backups_portal.url, timeout=30) as user:
        assert (await user.post("/auth/dev", data={"username": "backups-user", "role": "user"})).status_code == 303
        assert (await user.get("/admin/backups")).status_code == 403
        assert (await user.get("/api/v1/admin/backups")).status_code == 403
