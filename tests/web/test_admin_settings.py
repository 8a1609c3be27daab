"""Admin console, settings: playground limits, public proxy URL and currency saved from the page and used
by the portal; a bad value named at its field; a read-only admin's disabled forms (the API refuses anyway)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.web.portal_support import check_page

pytestmark = pytest.mark.asyncio


async def test_admin_saves_settings_and_the_portal_uses_them(browser_login: Any, portal_server: Any) -> None:
    page = await browser_login(role="admin", next_path="/admin/settings")
    await expect(page.get_by_test_id("portal-form")).to_be_visible()
    await check_page(page, "admin-settings")

    await page.get_by_test_id("setting-playground_rpm_limit").fill("0")
    await page.get_by_test_id("save-portal").click()
    await expect(page.get_by_test_id("settings-error")).to_have_attribute("data-field", "playground_rpm_limit")
    await expect(page.get_by_test_id("setting-playground_rpm_limit")).to_have_attribute("aria-invalid", "true")

    await page.get_by_test_id("setting-playground_rpm_limit").fill("9")
    await page.get_by_test_id("setting-playground_tpm_limit").fill("9999")
    await page.get_by_test_id("setting-public_proxy_url").fill("https://ai.example.com")
    await page.get_by_test_id("save-portal").click()
    await expect(page.get_by_test_id("saved")).to_be_visible()
    await expect(page.get_by_test_id("setting-playground_tpm_limit")).to_have_value("9999")

    # The playground page shows the database values.
    await page.goto("/playground")
    await expect(page.locator("body")).to_contain_text("9999")

    # Key defaults above their maximum are refused, naming the default.
    await page.goto("/admin/settings")
    await page.get_by_test_id("setting-defaults.rpm_limit").fill("50")
    await page.get_by_test_id("setting-maximums.rpm_limit").fill("10")
    await page.get_by_test_id("save-keys").click()
    await expect(page.get_by_test_id("settings-error")).to_have_attribute("data-field", "defaults.rpm_limit")

    response = await page.request.put(
        "/api/v1/admin/settings/portal",
        data="{}",
        headers={
            "content-type": "application/json",
            "X-CSRF-Token": {c["name"]: c["value"] for c in await page.context.cookies()}["litemaas_csrf"],
        },
    )
    assert response.status == 200


async def test_read_only_admin_sees_disabled_forms_and_the_api_refuses(browser_login: Any, portal_server: Any) -> None:
    page = await browser_login(role="admin_readonly", next_path="/admin/settings")
    await expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    await expect(page.get_by_test_id("save-portal")).to_be_disabled()
    await expect(page.get_by_test_id("save-keys")).to_be_disabled()
    await expect(page.get_by_test_id("setting-playground_rpm_limit")).to_be_disabled()
    async with httpx.AsyncClient(base_url=portal_server.url, timeout=30) as readonly:
        await readonly.post("/auth/dev", data={"username": "settings-readonly", "role": "admin_readonly"})
        readonly.headers["X-CSRF-Token"] = readonly.cookies["litemaas_csrf"]
        refused = await readonly.put("/api/v1/admin/settings/portal", json={"currency_label": "GBP"})
        assert refused.status_code == 403
        form = {"csrf_token": readonly.headers["X-CSRF-Token"], "currency_label": "GBP"}
        assert (await readonly.post("/admin/settings/portal", data=form)).status_code == 403
