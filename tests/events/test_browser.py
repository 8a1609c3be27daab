"""A workshop in the browser: an admin's event, three attendees joining by link, the host's view, the end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest
from playwright.async_api import Browser

from litemaas.litellm_admin import token_hash
from tests.support.stack import CHAT, GUARD, chat, sdk
from tests.usage.support import wait_for_litellm
from tests.web.portal_support import PortalServer, check_page, login_as

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _litellm_keys(litellm_stack: Any, event_id: str) -> int:
    with litellm_stack.db() as conn:
        row = conn.execute(
            """SELECT count(*) FROM "LiteLLM_VerificationToken" WHERE metadata->>'litemaas_event_id' = %s""",
            (event_id,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _api(url: str, username: str, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=60)
    response = await client.post("/auth/dev", data={"username": username, "role": role})
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = client.cookies["litemaas_csrf"]
    return client


async def test_workshop_join_host_view_and_end(
    browser: Browser, events_server: PortalServer, litellm_stack: Any
) -> None:
    url = events_server.url
    tag = uuid.uuid4().hex[:6]
    host_name = f"host-{tag}"
    admin = await _api(url, f"admin-{tag}", "admin")
    host_api = await _api(url, host_name, "user")  # the host exists once they have logged in
    await host_api.aclose()
    now = datetime.now(UTC)
    created = await admin.post(
        "/api/v1/admin/events",
        json={
            "name": f"Workshop {tag}",
            "models": [CHAT, GUARD],
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "capacity": 10,
            "rpm_limit": 60,
            "hosts": [host_name],
        },
    )
    assert created.status_code == 201, created.text
    event = created.json()
    join_path = event["join_path"]

    # Three attendees, three browser contexts: the join link through the login page.
    secrets: list[str] = []
    pages = []
    for n in range(3):
        page = await login_as(browser, url, username=f"attendee-{tag}-{n}", next_path=join_path)
        pages.append(page)
        assert page.url.endswith(join_path), page.url
        await page.get_by_test_id("join-event").click()
        secret = await page.get_by_test_id("secret-value").input_value()
        assert secret.startswith("sk-")
        assert await page.get_by_test_id("example").count() > 0
        assert await page.get_by_test_id("playground-link").count() == 1
        secrets.append(secret)
    try:
        # Each key works at the real proxy, the restricted model included.
        for n, secret in enumerate(secrets):
            client = sdk(litellm_stack, secret)
            answer = await chat(client, model=GUARD if n == 0 else CHAT)
            assert answer.choices[0].message.content
        # The second visit: the same seat, no key shown, no new key anywhere.
        for page in pages:
            await page.goto(url + join_path)
            assert f"/events/{event['id']}" in page.url
            assert await page.get_by_test_id("secret-value").count() == 0
        assert _litellm_keys(litellm_stack, event["id"]) == 3
        await check_page(pages[0], "event-attendee")

        # The host finds the event in the navigation and sees three attendees and their traffic.
        wait_for_litellm(litellm_stack.litellm_database_url, [token_hash(s) for s in secrets], 3)
        host = await login_as(browser, url, username=host_name, next_path="/events")
        pages.append(host)
        await host.get_by_test_id("hosted-event").click()
        rows = host.get_by_test_id("attendee")
        assert await rows.count() == 3
        requests = [int(await rows.nth(i).get_attribute("data-requests") or 0) for i in range(3)]
        assert requests == [1, 1, 1], requests
        await check_page(host, "event-host")
        console = await login_as(browser, url, role="admin", next_path=f"/admin/events/{event['id']}")
        pages.append(console)
        await check_page(console, "admin-event")
        await console.goto(url + "/admin/events")
        await check_page(console, "admin-events")
        # The host may not open the admin pages.
        response = await host.goto(url + f"/admin/events/{event['id']}")
        assert response is not None and response.status == 403

        # Ending the event: the keys fail at the proxy.
        ended = await admin.post(f"/api/v1/admin/events/{event['id']}/end")
        assert ended.status_code == 200, ended.text
        for secret in secrets:
            with pytest.raises(openai.AuthenticationError):
                await chat(sdk(litellm_stack, secret), model=CHAT)
        await pages[0].goto(url + join_path)
        assert await pages[0].get_by_test_id("join-refused").get_attribute("data-reason") == "event_ended"
        await check_page(pages[0], "event-join-refused")
    finally:
        await asyncio.gather(*(p.context.close() for p in pages))
        await admin.aclose()
