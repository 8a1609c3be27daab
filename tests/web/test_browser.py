"""The portal skeleton in a real browser (Debian's Chromium): login, layout, themes, CSP, a11y.

Screenshots of every page in both themes land in .run/screenshots/.
"""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page

from tests.web.portal_support import PHONE, check_page, screenshot, set_theme


async def _dark(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.classList.contains('pf-v6-theme-dark')"))


async def test_login_page_looks_right_and_is_accessible(context: BrowserContext, portal_server):
    page = await context.new_page()
    await page.goto(portal_server.url + "/login?error=login_failed")
    await check_page(page, "login")
    await page.goto(portal_server.url + "/login")
    assert await page.get_by_role("heading", name="Log in to your account").is_visible()
    assert await page.locator("#dev").is_visible()


async def test_anonymous_user_goes_to_login_and_comes_back(context: BrowserContext, portal_server):
    page = await context.new_page()
    await page.goto(portal_server.url + "/catalog?q=granite")
    assert page.url == portal_server.url + "/login?next=%2Fcatalog%3Fq%3Dgranite"
    await page.fill("#dev-username", "browser-next-user")
    async with page.expect_navigation():
        await page.click("#dev button[type=submit]")
    assert page.url == portal_server.url + "/catalog?q=granite"
    assert await page.get_by_test_id("username").inner_text() == "browser-next-user"


async def test_catalog_placeholder_in_both_themes(browser_login):
    page = await browser_login("user")
    assert page.url.endswith("/catalog")
    assert await page.get_by_role("heading", name="Models", level=1).is_visible()
    await check_page(page, "catalog")


async def test_forbidden_page_in_both_themes(browser_login, portal_server):
    page = await browser_login("user")
    response = await page.goto(portal_server.url + "/_test/admin-only")
    assert response is not None and response.status == 403
    assert await page.get_by_role("heading", name="You do not have access to this page").is_visible()
    await check_page(page, "forbidden")


async def test_inline_script_never_runs(browser_login, portal_server):
    page = await browser_login("user")
    response = await page.goto(portal_server.url + "/catalog")
    assert response is not None
    csp = await response.header_value("content-security-policy")
    assert csp is not None and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src-attr")[0]
    violations: list[str] = []

    def report(directive: str) -> None:
        violations.append(directive)

    await page.expose_function("reportViolation", report)
    await page.evaluate(
        """() => {
            document.addEventListener('securitypolicyviolation', e => window.reportViolation(e.violatedDirective));
            const script = document.createElement('script');
            script.textContent = 'window.__injected = 1';
            document.body.appendChild(script);
            document.body.insertAdjacentHTML('beforeend', '<img src="/nothing" onerror="window.__injected = 2">');
            const link = document.createElement('a');
            link.href = 'javascript:window.__injected = 3';
            document.body.appendChild(link);
            link.click();
        }"""
    )
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__injected") is None
    assert any(v.startswith("script-src") for v in violations), violations
    # Our own scripts (external, hashed) did run: htmx is there.
    assert await page.evaluate("typeof window.htmx") == "object"


async def test_theme_follows_the_system_until_toggled_then_is_remembered(browser, portal_server):
    context = await browser.new_context(base_url=portal_server.url, color_scheme="dark")
    try:
        page = await context.new_page()
        await page.goto("/login")
        assert await _dark(page), "the system's dark preference is followed"
        toggle = page.locator("[data-theme-toggle]")
        assert await toggle.get_attribute("aria-pressed") == "true"
        await toggle.click()
        assert not await _dark(page)
        assert await toggle.get_attribute("aria-pressed") == "false"
        await page.reload()
        assert not await _dark(page), "the choice survives a reload despite the dark system theme"
        other = await context.new_page()
        await other.goto("/login")
        assert not await _dark(other)
        await other.locator("[data-theme-toggle]").click()
        await page.reload()
        assert await _dark(page)
        cookies = {c["name"]: c["value"] for c in await context.cookies()}
        assert cookies["litemaas_theme"] == "dark"
    finally:
        await context.close()


async def test_htmx_requests_carry_the_csrf_token(browser_login, portal_server):
    page = await browser_login("user")
    await page.wait_for_function("typeof window.htmx === 'object'")
    statuses = await page.evaluate(
        """async () => {
            const plain = await fetch('/_test/form', {method: 'POST', body: new URLSearchParams({note: 'x'})});
            const viaHtmx = await new Promise(resolve => {
                document.body.addEventListener('htmx:afterRequest', e => resolve(e.detail.xhr.status), {once: true});
                htmx.ajax('POST', '/_test/form', {target: '#page-alerts', swap: 'none', values: {note: 'x'}});
            });
            return [plain.status, viaHtmx];
        }"""
    )
    assert statuses == [403, 200]


async def test_logout_from_the_masthead(browser_login, portal_server):
    page = await browser_login("user")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log out").click()
    assert page.url == portal_server.url + "/login?logged_out=1"
    assert await page.get_by_test_id("logged-out").is_visible()
    await page.goto(portal_server.url + "/catalog")
    assert page.url.startswith(portal_server.url + "/login?next=")


async def test_phone_width_layout(browser_login):
    page = await browser_login("user")
    await page.set_viewport_size(PHONE)
    await page.reload()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone"
    on_screen = "() => document.querySelector('#page-sidebar a').getBoundingClientRect().left >= 0"
    off_screen = "() => document.querySelector('#page-sidebar a').getBoundingClientRect().right <= 0"
    assert await page.evaluate(off_screen), "the sidebar starts closed on a phone"
    toggle = page.locator("[data-sidebar-toggle]")
    assert await toggle.get_attribute("aria-expanded") == "false"
    await toggle.click()
    await page.wait_for_function(on_screen)
    assert await toggle.get_attribute("aria-expanded") == "true"
    await page.wait_for_timeout(400)  # the slide-in transition, for the screenshot only
    await screenshot(page, "catalog-phone-nav")
    await toggle.click()
    await page.wait_for_function(off_screen)
    assert await toggle.get_attribute("aria-expanded") == "false"
    for theme in ("light", "dark"):
        await set_theme(page.context, page.url, theme)
        await page.reload()
        await screenshot(page, f"catalog-phone-{theme}")
    login = await page.context.browser.new_context(viewport=PHONE)  # type: ignore[union-attr]
    try:
        anonymous = await login.new_page()
        await anonymous.goto(re.sub(r"/catalog.*$", "/login", page.url))
        overflow = await anonymous.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        await screenshot(anonymous, "login-phone")
    finally:
        await login.close()
