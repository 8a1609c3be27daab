"""Helpers for portal tests: a real HTTP server for the app, browser login, screenshots, axe-core.

Fixtures live in ``conftest.py`` (``portal_server``, ``browser``, ``context``); a page test uses

    page = await login_as(browser, portal_server.url, role="user")   # a fresh context, logged in
    await page.goto(portal_server.url + "/catalog")
    await check_page(page, "catalog")   # both themes: screenshot + zero serious/critical axe issues

Screenshots go to ``.run/screenshots/`` (not committed) so anyone can look at the portal.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import uvicorn
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse
from playwright.async_api import Browser, BrowserContext, Page

from litemaas.auth.permissions import Permission
from litemaas.web.dependencies import PageUser, Render, page_user
from litemaas.web.rendering import PageSession
from litemaas.web.routing import page_router

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE_JS = REPO / "litemaas" / "web" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / ".run" / "screenshots"
THEME_COOKIE = "litemaas_theme"
THEMES = ("light", "dark")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@dataclass
class PortalServer:
    url: str
    app: FastAPI


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__(daemon=True, name="portal-server")
        self.server = server

    def run(self) -> None:
        self.server.run()


@contextmanager
def serve_app(app: FastAPI, port: int) -> Iterator[str]:
    """Run ``app`` (lifespan included) on 127.0.0.1:``port`` in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    thread = _ServerThread(server)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "portal server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def new_context(browser: Browser, *, theme: str | None = None, **kwargs: Any) -> BrowserContext:
    kwargs.setdefault("viewport", DESKTOP)
    context = await browser.new_context(**kwargs)
    if theme is not None:
        await set_theme(context, kwargs.get("base_url") or "", theme)
    return context


async def set_theme(context: BrowserContext, base_url: str, theme: str) -> None:
    """Remember ``theme`` as the toggle does (the cookie the server reads)."""
    # For the whole site (path /), whatever page ``base_url`` is: a cookie set from a nested page
    # (/catalog/x) would otherwise only cover /catalog and lose to an older site-wide one.
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}/" if parts.netloc else base_url
    await context.add_cookies([{"name": THEME_COOKIE, "value": theme, "url": origin}])


async def login_as(
    browser: Browser, base_url: str, *, username: str | None = None, role: str = "user", next_path: str = "/"
) -> Page:
    """A fresh browser context logged in through the development login form; returns its page."""
    context = await new_context(browser, base_url=base_url)
    page = await context.new_page()
    await page.goto(f"{base_url}/login?next={quote(next_path, safe='/')}")
    await page.fill("#dev-username", username or f"{role}-{uuid.uuid4().hex[:8]}")
    await page.select_option("#dev-role", role)
    async with page.expect_navigation():
        await page.click("#dev button[type=submit]")
    return page


async def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of at least ``impacts`` on the current page (axe from node_modules)."""
    # Injected through the DevTools protocol, so the page's CSP (no inline scripts) does not block it.
    await page.evaluate(AXE_JS.read_text())
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']} — {v['help']}")
        for node in v.get("nodes", [])[:5]:
            checks = node.get("any", []) + node.get("all", [])
            message = checks[0].get("message", "") if checks else ""
            lines.append(f"    {json.dumps(node.get('target'))}: {message}")
    return "\n".join(lines)


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def check_page(page: Page, name: str) -> None:
    """For each theme: reload with it, screenshot ``<name>-<theme>.png``, assert no serious axe issue."""
    failures = []
    for theme in THEMES:
        await set_theme(page.context, page.url, theme)
        await page.reload()
        await page.wait_for_load_state("load")
        is_dark = await page.evaluate("document.documentElement.classList.contains('pf-v6-theme-dark')")
        assert is_dark == (theme == "dark"), f"{name}: theme {theme} not applied"
        await screenshot(page, f"{name}-{theme}")
        violations = await axe_violations(page)
        if violations:
            failures.append(f"{name} ({theme}):\n{_describe(violations)}")
    assert not failures, "\n".join(failures)


# Pages that exist only in the tests' portal server (``portal_server``): a page no user role may
# open, a form that changes nothing; for the layout's own tests.
portal_test_pages = page_router()


@portal_test_pages.get("/_test/admin-only")
async def admin_only_page(
    user: Annotated[PageSession, page_user(Permission.ADMIN_READ)], render: Render
) -> HTMLResponse:
    return render("base.html", user)


@portal_test_pages.post("/_test/form")
async def form_post(user: PageUser, render: Render, note: Annotated[str, Form(max_length=100)] = "") -> HTMLResponse:
    return render("base.html", user, status=200)
