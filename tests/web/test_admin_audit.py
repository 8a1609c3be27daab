"""Admin console, audit log: search by free text and action, detail with before/after, export with the same filters."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.support.backend import unique
from tests.web.portal_support import check_page

pytestmark = pytest.mark.asyncio


async def test_search_detail_and_export(browser_login: Any, portal_server: Any) -> None:
    marker = unique("EUR")[:16]
    async with httpx.AsyncClient(base_url=portal_server.url, timeout=30) as admin:
        login = await admin.post("/auth/dev", data={"username": unique("auditor"), "role": "admin"})
        assert login.status_code == 303
        admin.headers["X-CSRF-Token"] = admin.cookies["litemaas_csrf"]
        saved = await admin.put("/api/v1/admin/settings/portal", json={"currency_label": marker})
        assert saved.status_code == 200, saved.text

    page = await browser_login(role="admin_readonly", next_path="/admin/audit")
    await expect(page.get_by_test_id("audit-filters")).to_be_visible()
    await page.get_by_test_id("filter-q").fill(marker)
    await page.get_by_test_id("filter-action").fill("settings.*")
    await page.get_by_test_id("search").click()
    await page.wait_for_url("**/admin/audit?*q=*")
    rows = page.get_by_test_id("audit-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-action", "settings.portal.update")
    await check_page(page, "admin-audit")

    export = await page.get_by_test_id("export-csv").get_attribute("href")
    assert export and "q=" in export
    response = await page.request.get(export)
    assert response.status == 200
    exported = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(exported) == 1 and marker in exported[0]["after"]

    await rows.first.get_by_test_id("event-link").click()
    changed = page.locator('[data-testid="change-row"][data-field="currency_label"]')
    await expect(changed).to_have_attribute("data-changed", "true")
    await expect(changed.get_by_test_id("after")).to_contain_text(marker)
    await check_page(page, "admin-audit-event")

    # A bad range names the field; nothing is listed.
    await page.goto("/admin/audit?since=2030-01-02&until=2030-01-01")
    await expect(page.get_by_test_id("search-error")).to_have_attribute("data-field", "since")
    await expect(page.get_by_test_id("audit-row")).to_have_count(0)

    async with httpx.AsyncClient(base_url=portal_server.url, timeout=30) as admin:
        await admin.post("/auth/dev", data={"username": unique("auditor"), "role": "admin"})
        admin.headers["X-CSRF-Token"] = admin.cookies["litemaas_csrf"]
        assert (await admin.put("/api/v1/admin/settings/portal", json={})).status_code == 200


async def test_users_cannot_open_the_audit_log(browser_login: Any) -> None:
    page = await browser_login(role="user", next_path="/")
    response = await page.goto("/admin/audit")
    assert response is not None and response.status == 403
