"""Admin console, branding and banners, in a browser: an admin uploads a PNG and an SVG logo and changes
the title (the live preview follows the form), and the login page shows them; a hostile SVG is refused
naming the problem; a banner for users shows to a user and not to a read-only admin, and stays dismissed
after a reload; a read-only admin sees both pages with every control disabled (the API refuses anyway)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.branding.support import BENIGN_LOGO, HOSTILE_SVGS, raster
from tests.web.portal_support import check_page, new_context

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def admin_api(portal_server: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An admin on the portal's REST API; the branding and the banners it leaves are reset afterwards
    (the portal server and its database are shared by the whole session)."""
    async with httpx.AsyncClient(base_url=portal_server.url, timeout=30) as api:
        await api.post("/auth/dev", data={"username": f"branding-admin-{uuid.uuid4().hex[:6]}", "role": "admin"})
        api.headers["X-CSRF-Token"] = api.cookies["litemaas_csrf"]
        before = {b["id"] for b in (await api.get("/api/v1/admin/banners")).json()}
        yield api
        assert (await api.put("/api/v1/admin/branding", json={})).status_code == 200
        for slot in ("login_logo", "logo_light", "logo_dark"):
            await api.delete(f"/api/v1/admin/branding/images/{slot}")
        for banner in (await api.get("/api/v1/admin/banners")).json():
            if banner["id"] not in before:
                await api.delete(f"/api/v1/admin/banners/{banner['id']}")


async def test_admin_brands_the_portal_and_the_login_page_shows_it(
    browser_login: Any, browser: Any, portal_server: Any, admin_api: httpx.AsyncClient
) -> None:
    title = f"ACME AI {uuid.uuid4().hex[:6]}"
    page = await browser_login(role="admin", next_path="/admin/branding")
    await expect(page.get_by_test_id("texts-form")).to_be_visible()
    await check_page(page, "admin-branding")

    # The preview follows the form before anything is saved.
    await page.get_by_test_id("branding-title").fill(title)
    await page.get_by_test_id("branding-subtitle").fill("Governed models for every team")
    await expect(page.get_by_test_id("preview").locator("[data-preview-title]").first).to_have_text(title)
    await expect(page.get_by_test_id("preview").locator("[data-preview-subtitle]")).to_have_text(
        "Governed models for every team"
    )
    await page.get_by_test_id("branding-footer").fill("© ACME, internal use")
    async with page.expect_navigation():
        await page.get_by_test_id("save-texts").click()
    await expect(page.get_by_test_id("saved")).to_have_attribute("data-saved", "texts")

    png = raster("PNG", size=(120, 40))
    await page.get_by_test_id("upload-logo_light").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": png}
    )
    await expect(page.get_by_test_id("preview").locator('[data-preview-slot="logo_light"]')).to_have_attribute(
        "src", "data:image/png;base64," + base64.b64encode(png).decode()
    )
    async with page.expect_navigation():
        await page.get_by_test_id("save-logo_light").click()
    await expect(page.get_by_test_id("saved")).to_have_attribute("data-saved", "logo_light")
    await page.get_by_test_id("upload-login_logo").set_input_files(
        {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": BENIGN_LOGO}
    )
    async with page.expect_navigation():
        await page.get_by_test_id("save-login_logo").click()
    await expect(page.get_by_test_id("saved")).to_have_attribute("data-saved", "login_logo")
    await expect(page.get_by_test_id("current-login_logo")).to_be_visible()

    # A hostile SVG is refused, naming the problem; nothing is stored.
    await page.get_by_test_id("upload-logo_dark").set_input_files(
        {"name": "evil.svg", "mimeType": "image/svg+xml", "buffer": HOSTILE_SVGS["onload"]}
    )
    async with page.expect_navigation():
        await page.get_by_test_id("save-logo_dark").click()
    await expect(page.get_by_test_id("branding-error")).to_have_attribute("data-error-code", "svg_refused")
    await expect(page.get_by_test_id("error-detail")).to_contain_text("onload")
    await expect(page.get_by_test_id("default-logo_dark")).to_be_visible()

    # The masthead shows the light logo, the footer its text.
    await page.goto("/catalog")
    masthead_logo = page.locator(".pf-v6-c-masthead img.lm-logo").first
    await expect(masthead_logo).to_have_attribute("src", re.compile(r"/api/v1/branding/images/logo_light\?v="))
    await expect(page.get_by_test_id("footer-text")).to_have_text("© ACME, internal use")

    # An anonymous visitor's login page: the SVG logo (loaded, not broken), the title and the subtitle.
    context = await new_context(browser, base_url=portal_server.url)
    try:
        visitor = await context.new_page()
        await visitor.goto("/login")
        await expect(visitor.get_by_test_id("brand-title")).to_have_text(title)
        await expect(visitor.get_by_test_id("brand-subtitle")).to_have_text("Governed models for every team")
        logo = visitor.get_by_test_id("login-logo")
        await expect(logo).to_have_attribute("src", re.compile(r"/api/v1/branding/images/login_logo\?v="))
        assert await logo.evaluate("img => img.complete && img.naturalWidth > 0")
        assert title in await visitor.title()
        served = await visitor.request.get(await logo.get_attribute("src") or "")
        assert served.headers["content-type"] == "image/svg+xml"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
    finally:
        await context.close()


async def test_a_banner_for_users_shows_to_them_not_to_readonly_admins_and_stays_dismissed(
    browser_login: Any, admin_api: httpx.AsyncClient
) -> None:
    text = f"Maintenance {uuid.uuid4().hex[:6]}"
    admin = await browser_login(role="admin", next_path="/admin/banners")
    await admin.get_by_test_id("banner-message").fill(f"**{text}** on Friday <script>alert(1)</script>")
    await admin.get_by_test_id("banner-format").select_option("markdown")
    await admin.get_by_test_id("banner-severity").select_option("warning")
    await admin.get_by_test_id("banner-role-admin").uncheck()
    await admin.get_by_test_id("banner-role-admin_readonly").uncheck()
    # A bad link is named at its field, and nothing is created.
    await admin.get_by_test_id("banner-link_url").fill("javascript:alert(1)")
    async with admin.expect_navigation():
        await admin.get_by_test_id("save-banner").click()
    await expect(admin.get_by_test_id("banner-error")).to_have_attribute("data-field", "link_url")
    await admin.get_by_test_id("banner-link_url").fill("https://status.example.com")
    async with admin.expect_navigation():
        await admin.get_by_test_id("save-banner").click()
    await expect(admin.get_by_test_id("done")).to_have_attribute("data-done", "created")
    row = admin.get_by_test_id("banner-row").filter(has_text=text)
    await expect(row.get_by_test_id("banner-status")).to_have_text("Active")
    await check_page(admin, "admin-banners")
    # Targeted at users only: the admin's own pages do not show it.
    await expect(admin.get_by_test_id("banner").filter(has_text=text)).to_have_count(0)

    user = await browser_login(role="user", next_path="/catalog")
    banner = user.get_by_test_id("banner").filter(has_text=text)
    await expect(banner).to_be_visible()
    await expect(banner.locator("strong")).to_have_text(text)
    await expect(banner).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    await expect(banner.locator("a.lm-banner-link")).to_have_attribute("href", "https://status.example.com")
    await user.goto("/keys")
    await expect(banner).to_be_visible()
    await banner.get_by_test_id("dismiss-banner").click()
    await expect(banner).to_have_count(0)
    await user.reload()
    await expect(user.get_by_test_id("banner").filter(has_text=text)).to_have_count(0)
    await user.goto("/catalog")
    await expect(user.get_by_test_id("banner").filter(has_text=text)).to_have_count(0)

    readonly = await browser_login(role="admin_readonly", next_path="/catalog")
    await expect(readonly.locator("h1").first).to_be_visible()
    await expect(readonly.get_by_test_id("banner").filter(has_text=text)).to_have_count(0)


async def test_read_only_admin_sees_both_pages_disabled_and_the_api_refuses(
    browser_login: Any, portal_server: Any, admin_api: httpx.AsyncClient
) -> None:
    created = await admin_api.post(
        "/api/v1/admin/banners", json={"message": "Read-only check", "target_roles": ["admin"]}
    )
    assert created.status_code == 201, created.text
    banner_id = created.json()["id"]

    page = await browser_login(role="admin_readonly", next_path="/admin/branding")
    await expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    for testid in (
        "branding-title",
        "branding-subtitle",
        "branding-footer",
        "save-texts",
        "upload-logo_light",
        "save-logo_light",
    ):
        await expect(page.get_by_test_id(testid)).to_be_disabled()
    await page.goto("/admin/banners")
    await expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    await expect(page.get_by_test_id("save-banner")).to_be_disabled()
    await expect(page.get_by_test_id("banner-message")).to_be_disabled()
    row = page.get_by_test_id("banner-row").filter(has_text="Read-only check")
    await expect(row.get_by_test_id("delete-banner")).to_be_disabled()
    await expect(row.get_by_test_id("move-up")).to_be_disabled()
    await page.goto(f"/admin/banners/{banner_id}")
    await expect(page.get_by_test_id("save-banner")).to_be_disabled()

    async with httpx.AsyncClient(base_url=portal_server.url, timeout=30) as readonly:
        await readonly.post("/auth/dev", data={"username": "branding-readonly", "role": "admin_readonly"})
        csrf = readonly.cookies["litemaas_csrf"]
        readonly.headers["X-CSRF-Token"] = csrf
        assert (await readonly.put("/api/v1/admin/branding", json={"title": "nope"})).status_code == 403
        assert (await readonly.delete(f"/api/v1/admin/banners/{banner_id}")).status_code == 403
        assert (await readonly.post("/admin/branding", data={"csrf_token": csrf, "title": "nope"})).status_code == 403
        assert (await readonly.post(f"/admin/banners/{banner_id}/delete", data={"csrf_token": csrf})).status_code == 403
    assert (await admin_api.get(f"/api/v1/admin/banners/{banner_id}")).status_code == 200
