"""Portal fixtures: the app served over real HTTP, and one headless Chromium for the whole suite.

- ``portal_server``: session-scoped backend (the session's migrated database, real Redis, development
  login, no LiteLLM) served by uvicorn; it also carries ``/_test/*`` pages that exist only here
  (a page no user role may open, a form that changes nothing) for the layout's own tests.
- ``browser``: session-scoped Chromium from Debian's package (``/usr/bin/chromium``).
- ``context``: a fresh browser context per test (cookies, storage), closed afterwards.
- ``browser_login(role="user", username=None, next_path="/")``: a page in a fresh context,
  logged in through the development form; its context is closed after the test.

The suite's shared fixtures (``make_app``, ``login``, ``litellm_stack``, ``idp`` ...) are there too,
for page tests that need the whole stack.

- ``stack_portal_server``: session-scoped backend like ``portal_server`` but talking to the
  session's real LiteLLM proxy (``litellm_stack``), with the demo catalog synced.
- ``stack_login(role="user", username=None, next_path="/")``: ``browser_login`` on that server.
- ``stack_api(role="user", username=None)``: an ``httpx.AsyncClient`` logged in on that server
  (CSRF header set) for arranging data through the REST API.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from litemaas.config import Settings
from tests.support.backend import REDIS_URL, free_port, http_login
from tests.support.stack import stack_settings
from tests.web.portal_support import CHROMIUM, DESKTOP, PortalServer, login_as, portal_test_pages, serve_app


@pytest.fixture(scope="session")
def portal_settings(backend_database_url: str, redis_prefix: str, session_secret: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=backend_database_url,
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        session_secret=session_secret,
        dev_login_enabled=True,
        cookie_secure=False,
        proxy_url=f"http://127.0.0.1:{free_port()}",
        master_key=None,
        log_level="WARNING",
        log_json=True,
    )


@pytest.fixture(scope="session")
def portal_server(portal_settings: Settings) -> Iterator[PortalServer]:
    from litemaas.app import create_app

    port = free_port()
    settings = portal_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings, configure_logs=False)
    app.include_router(portal_test_pages)
    with serve_app(app, port) as url:
        yield PortalServer(url=url, app=app)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def context(browser: Browser, portal_server: PortalServer) -> AsyncIterator[BrowserContext]:
    created = await browser.new_context(base_url=portal_server.url, viewport=DESKTOP)
    try:
        yield created
    finally:
        await created.close()


BrowserLogin = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture
async def browser_login(browser: Browser, portal_server: PortalServer) -> AsyncIterator[BrowserLogin]:
    pages: list[Page] = []

    async def _login(role: str = "user", username: str | None = None, next_path: str = "/") -> Page:
        page = await login_as(browser, portal_server.url, username=username, role=role, next_path=next_path)
        pages.append(page)
        return page

    yield _login
    for page in pages:
        await page.context.close()


def _sync_demo_catalog(url: str) -> None:
    with closing(http_login(url, "stack-portal-admin", "admin")) as admin:
        response = admin.post("/api/v1/admin/models/sync")
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
def stack_portal_server(portal_settings: Settings, litellm_stack: Any) -> Iterator[PortalServer]:
    from litemaas.app import create_app

    port = free_port()
    settings = stack_settings(portal_settings, litellm_stack).model_copy(
        # The URL conversion example must pass the proxy's public-URL policy without DNS: a public
        # address literal (the simulator never fetches it).
        update={"public_url": f"http://127.0.0.1:{port}", "example_document_url": "https://93.184.215.14/report.pdf"}
    )
    app = create_app(settings, configure_logs=False)
    with serve_app(app, port) as url:
        _sync_demo_catalog(url)
        yield PortalServer(url=url, app=app)


@pytest_asyncio.fixture
async def stack_login(browser: Browser, stack_portal_server: PortalServer) -> AsyncIterator[BrowserLogin]:
    pages: list[Page] = []

    async def _login(role: str = "user", username: str | None = None, next_path: str = "/") -> Page:
        page = await login_as(browser, stack_portal_server.url, username=username, role=role, next_path=next_path)
        pages.append(page)
        return page

    yield _login
    for page in pages:
        await page.context.close()


StackApi = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture
async def stack_api(stack_portal_server: PortalServer) -> AsyncIterator[StackApi]:
    clients: list[httpx.AsyncClient] = []

    async def _client(role: str = "user", username: str | None = None) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=stack_portal_server.url, timeout=60)
        clients.append(client)
        name = username or f"{role}-{uuid.uuid4().hex[:8]}"
        response = await client.post("/auth/dev", data={"username": name, "role": role})
        assert response.status_code == 303, response.text
        client.headers["X-CSRF-Token"] = client.cookies["litemaas_csrf"]
        return client

    yield _client
    for client in clients:
        await client.aclose()
