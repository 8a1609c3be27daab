"""The usage dashboards in a real browser: real traffic through the real proxy, a refresh, and the
pages show exactly what the usage API answers (page text compared with the API's JSON).

``usage_portal`` is the backend wired to the session's LiteLLM proxy *and* its database (the
daily spend the usage domain copies), as ``make run`` is.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from litemaas.config import Settings
from litemaas.litellm_admin import token_hash
from tests.support.backend import asgi_client, dev_login, free_port, unique
from tests.support.stack import CHAT, EMBED, chat, db_rows, sdk
from tests.usage.support import daily_row, seed_litellm_daily, unused_day, wait_for_litellm
from tests.web.portal_support import PortalServer, check_page, login_as, serve_app

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def usage_portal(portal_settings: Settings, litellm_stack: Any) -> Iterator[PortalServer]:
    from litemaas.app import create_app

    port = free_port()
    settings = portal_settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "proxy_url": litellm_stack.proxy_url,
            "master_key": SecretStr(litellm_stack.master_key),
            "litellm_database_url": litellm_stack.litellm_database_url,
            "usage_grace_seconds": 0,
        }
    )
    app = create_app(settings, configure_logs=False)
    with serve_app(app, port) as url, httpx.Client(base_url=url, timeout=60) as admin:
        login = admin.post("/auth/dev", data={"username": f"usage-admin-{uuid.uuid4().hex[:6]}", "role": "admin"})
        assert login.status_code == 303, login.text
        synced = admin.post("/api/v1/admin/models/sync", headers={"X-CSRF-Token": admin.cookies["litemaas_csrf"]})
        assert synced.status_code == 200, synced.text
        yield PortalServer(url=url, app=app)


# --- the figures as the dashboard writes them (independent of the template's macros) ---------


def _count(value: int) -> str:
    return f"{value:,}"


def _money(value: float) -> str:
    digits = 2 if value == 0 or value >= 1 else (4 if value >= 0.01 else 6)
    return f"${value:.{digits}f}"


async def _csrf(page: Page) -> dict[str, str]:
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    return {"X-CSRF-Token": cookies["litemaas_csrf"]}


async def _api(page: Page, method: str, path: str, status: int, **kwargs: Any) -> Any:
    response = await page.request.fetch("/api/v1" + path, method=method, headers=await _csrf(page), **kwargs)
    assert response.status == status, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def _totals_match(page: Page, api: dict[str, Any]) -> None:
    totals = api["totals"]
    assert await page.get_by_test_id("total-requests-value").inner_text() == _count(totals["requests"])
    assert await page.get_by_test_id("total-tokens-value").inner_text() == _count(totals["total_tokens"])
    assert await page.get_by_test_id("total-spend-value").inner_text() == _money(totals["spend"])
    assert await page.get_by_test_id("total-failed-value").inner_text() == _count(totals["failed_requests"])
    for card, metric in (("total-requests", "requests"), ("total-tokens", "total_tokens"), ("total-spend", "spend")):
        trend = page.get_by_test_id(card).get_by_test_id("trend")
        change = api["trend"][metric]
        if change is None:
            assert await trend.get_attribute("data-direction") == "none"
        else:
            direction = "up" if change > 0 else ("down" if change < 0 else "flat")
            assert await trend.get_attribute("data-direction") == direction
            assert f"{change:+.1f}%" in await trend.inner_text()
    days = page.get_by_test_id("daily-table").locator("tbody tr")
    assert await days.count() == len(api["daily"])
    for point in api["daily"]:
        row = page.locator(f'#daily-table tr[data-day="{point["date"]}"]')
        # The table is the charts' text alternative, folded away (text content, not rendered text).
        cells = [text.strip() for text in await row.locator("td").all_text_contents()]
        assert cells == [_count(point["requests"]), _count(point["total_tokens"]), _money(point["spend"])], point


async def _breakdown(page: Page, kind: str) -> dict[str, tuple[str, str, str, str]]:
    """The rows of one breakdown table: id -> (name, requests, tokens, spend) as shown."""
    shown = {}
    rows = page.get_by_test_id(f"by-{kind}").get_by_test_id("row")
    for i in range(await rows.count()):
        row = rows.nth(i)
        shown[await row.get_attribute("data-id") or ""] = (
            (await row.get_by_test_id("name").inner_text()).strip(),
            await row.get_by_test_id("requests").inner_text(),
            await row.get_by_test_id("tokens").inner_text(),
            await row.get_by_test_id("spend").inner_text(),
        )
    return shown


def _figures(item: dict[str, Any]) -> tuple[str, str, str]:
    return _count(item["requests"]), _count(item["total_tokens"]), _money(item["spend"])


async def _traffic(page: Page, litellm_stack: Any, backend_database_url: str) -> dict[str, Any]:
    """A key used with chat and embeddings, and a playground turn; waits until LiteLLM recorded them."""
    for model in (CHAT, EMBED):
        await _api(page, "POST", "/subscriptions", 201, data={"model": model})
    key = await _api(page, "POST", "/keys", 201, data={"alias": "laptop", "models": [CHAT, EMBED]})
    client = sdk(litellm_stack, key["key"])
    await chat(client, text="how many tokens is this?")
    await chat(client, text="and this second, slightly longer question?")
    await client.embeddings.create(model=EMBED, input=["one text", "another text"])
    turn = await page.request.post(
        "/playground/chat",
        data={"model": CHAT, "messages": [{"role": "user", "content": "hello from the playground"}]},
        headers=await _csrf(page),
    )
    assert turn.status == 200, await turn.text()
    assert "[DONE]" in await turn.text()
    me = await _api(page, "GET", "/auth/me", 200)
    hashes = [
        row[0]
        for row in db_rows(
            backend_database_url, "SELECT token_hash FROM api_keys WHERE user_id = %s", uuid.UUID(me["user_id"])
        )
    ]
    assert len(hashes) == 2
    wait_for_litellm(litellm_stack.litellm_database_url, hashes, 4)
    return {"key": key, "user_id": me["user_id"], "username": me["username"]}


async def test_dashboards_show_what_the_api_returns(
    browser: Browser, usage_portal: PortalServer, litellm_stack: Any, backend_database_url: str
) -> None:
    url = usage_portal.url
    username = unique("usage")
    page = await login_as(browser, url, username=username, next_path="/usage")
    admin = await login_as(browser, url, role="admin", next_path="/admin/usage")
    try:
        made = await _traffic(page, litellm_stack, backend_database_url)
        refreshed = await _api(admin, "POST", "/admin/usage/refresh", 200)
        assert refreshed["upstream_reads"] >= 1
        today = datetime.now(UTC).date().isoformat()

        # The user's own page.
        body = {"start_date": today, "end_date": today}
        own = await _api(page, "POST", "/usage/analytics", 200, data=body)
        assert own["totals"]["requests"] == 4
        await page.goto(f"{url}/usage?start_date={today}&end_date={today}")
        await _totals_match(page, own)
        keys = await _breakdown(page, "keys")
        assert keys == {row["key"]: (row["alias"], *_figures(row)) for row in own["by_key"]["items"]} | {
            row["key"]: ("Playground", *_figures(row))
            for row in own["by_key"]["items"]
            if row["purpose"] == "playground"
        }
        assert sorted(name for name, *_ in keys.values()) == ["Playground", "laptop"]
        models = await _breakdown(page, "models")
        assert models == {row["model"]: (row["model"], *_figures(row)) for row in own["by_model"]["items"]}
        assert set(models) == {CHAT, EMBED}
        assert await page.get_by_test_id("by-users").count() == 0
        assert await page.get_by_test_id("budget-user").count() == 1
        # Export links: the export endpoints with the page's filters.
        href = await page.get_by_test_id("export-daily-csv").get_attribute("href")
        assert href is not None and urlsplit(href).path == "/api/v1/usage/export"
        assert parse_qs(urlsplit(href).query) == {
            "start_date": [today],
            "end_date": [today],
            "view": ["daily"],
            "format": ["csv"],
        }
        exported = await page.request.get(href)
        assert exported.status == 200 and "attachment" in exported.headers["content-disposition"]
        # A filter narrows the page as it narrows the API.
        await page.get_by_test_id("filter-model").select_option(EMBED)
        await page.get_by_test_id("apply-filters").click()
        await page.wait_for_url(f"**model={EMBED}**")
        narrowed = await _api(page, "POST", "/usage/analytics", 200, data={**body, "models": [EMBED]})
        await _totals_match(page, narrowed)
        assert narrowed["totals"]["requests"] == 1
        await expect(page.locator("canvas[data-metric=requests]")).to_be_visible()
        # Trend arrows: a past day against the day before it (LiteLLM's rows for the user's key).
        day = unused_day()
        laptop = token_hash(made["key"]["key"])
        seed_litellm_daily(
            litellm_stack.litellm_database_url,
            [
                daily_row(laptop, day - timedelta(days=1), requests=2, prompt=10, completion=10, spend=0.5),
                daily_row(laptop, day, requests=5, prompt=10, completion=5, spend=0.25),
            ],
        )
        past = {"start_date": day.isoformat(), "end_date": day.isoformat()}
        await page.goto(f"{url}/usage?start_date={day}&end_date={day}")
        trended = await _api(page, "POST", "/usage/analytics", 200, data=past)
        assert trended["trend"] == {"requests": 150.0, "total_tokens": -25.0, "spend": -50.0}
        await _totals_match(page, trended)
        await check_page(page, "usage")

        # The admin page, narrowed to this user.
        query = {**body, "users": [made["user_id"]]}
        system = await _api(admin, "POST", "/admin/usage/analytics", 200, data=query)
        assert system["totals"] == own["totals"]
        await admin.goto(f"{url}/admin/usage?start_date={today}&end_date={today}&user={made['user_id']}")
        await _totals_match(admin, system)
        users = await _breakdown(admin, "users")
        assert users == {made["user_id"]: (username, *_figures(system["by_user"]["items"][0]))}
        providers = await _breakdown(admin, "providers")
        assert providers == {
            row["provider"]: (row["provider"], *_figures(row)) for row in system["by_provider"]["items"]
        }
        assert providers
        status = await _api(admin, "GET", "/admin/usage/status", 200)
        last = datetime.fromisoformat(status["last_refresh_at"]).strftime("%Y-%m-%d %H:%M:%S")
        assert last in await admin.get_by_test_id("last-refresh").inner_text()
        await check_page(admin, "admin-usage")
        # Refresh today: back on the same view, with the filters kept.
        await expect(admin.get_by_test_id("refresh-today")).to_be_enabled()
        await admin.get_by_test_id("refresh-today").click()
        await expect(admin.get_by_test_id("refreshed")).to_be_visible()
        assert parse_qs(urlsplit(admin.url).query)["user"] == [made["user_id"]]
        await _totals_match(admin, system)
    finally:
        await page.context.close()
        await admin.context.close()


async def test_a_user_cannot_open_the_admin_page(browser: Browser, usage_portal: PortalServer) -> None:
    page = await login_as(browser, usage_portal.url, next_path="/usage")
    try:
        response = await page.goto(usage_portal.url + "/admin/usage")
        assert response is not None and response.status == 403
        await expect(page.get_by_test_id("error-reason")).to_be_visible()
        assert await page.get_by_test_id("totals").count() == 0
        refused = await page.request.post(usage_portal.url + "/admin/usage/refresh", headers=await _csrf(page))
        assert refused.status == 403
    finally:
        await page.context.close()


async def test_read_only_admin_sees_the_page_but_cannot_refresh(browser: Browser, usage_portal: PortalServer) -> None:
    page = await login_as(browser, usage_portal.url, role="admin_readonly", next_path="/admin/usage")
    try:
        response = await page.goto(usage_portal.url + "/admin/usage")
        assert response is not None and response.status == 200
        await expect(page.get_by_test_id("totals")).to_be_visible()
        await expect(page.get_by_test_id("refresh-today")).to_be_disabled()
        await _api(page, "POST", "/admin/usage/refresh", 403)
        form = await page.request.post(usage_portal.url + "/admin/usage/refresh", headers=await _csrf(page))
        assert form.status == 403
    finally:
        await page.context.close()


async def test_pages_render_without_litellm(make_app: Any) -> None:
    """Without LiteLLM's spend data the pages still answer from the cache, and say so."""
    async with make_app() as app, asgi_client(app) as c:
        await dev_login(c, unique("nousage"), "user")
        # Days no other test of the session's shared database has read: they are stale, so the
        # page tries LiteLLM for them.
        first = date(2000, 1, 1) + timedelta(days=secrets.randbelow(7000))
        window = {"start_date": first.isoformat(), "end_date": (first + timedelta(days=6)).isoformat()}
        page = await c.get("/usage", params=window)
        assert page.status_code == 200, page.text
        assert "could not be read" in page.text
        assert 'data-testid="by-keys-empty"' in page.text
        bad = await c.get("/usage", params={"start_date": "2026-02-01", "end_date": "2026-01-01"})
        assert bad.status_code == 400
        assert (await c.get("/admin/usage")).status_code == 403
    async with make_app() as app, asgi_client(app) as admin:
        await dev_login(admin, unique("nousage-admin"), "admin")
        back = "start_date=2026-01-01&end_date=2026-01-31&next=https://elsewhere.example"
        refreshed = await admin.post("/admin/usage/refresh", data={"scope": "today", "back": back})
        assert refreshed.status_code == 303
        target = urlsplit(refreshed.headers["location"])
        assert target.path == "/admin/usage" and not target.netloc
        assert parse_qs(target.query) == {
            "refreshed": ["failed"],
            "start_date": ["2026-01-01"],
            "end_date": ["2026-01-31"],
        }
        page = await admin.get(refreshed.headers["location"])
        assert page.status_code == 200 and 'data-testid="refresh-failed"' in page.text
        assert (await admin.post("/admin/usage/refresh", data={})).status_code == 400
