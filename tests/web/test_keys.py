"""The keys page in a real browser, against the real backend, LiteLLM proxy and simulator.

The story: create a key in the dialog, read it from the show-once dialog, use it through the
OpenAI SDK, rotate it (old refused, new works), revoke it after confirming (refused). Around it:
the secret is nowhere once its dialog closes, the dialogs work from the keyboard, the limits
come pre-filled and bounded, and no other user's keys can be seen or touched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.support.stack import CHAT, CHAT_2, chat, sdk
from tests.web.portal_support import axe_violations, check_page, screenshot

DEFAULTS = {
    "rpm_limit": 30,
    "tpm_limit": 50000,
    "max_parallel_requests": 4,
    "max_budget": 5.0,
    "soft_budget": 4.0,
    "budget_duration": "30d",
    "duration": "30d",
}
MAXIMUMS = {
    "rpm_limit": 120,
    "tpm_limit": 200000,
    "max_parallel_requests": 8,
    "max_budget": 10.0,
    "soft_budget": 10.0,
    "duration": "90d",
}


@pytest_asyncio.fixture
async def key_settings(stack_api: Any) -> AsyncIterator[dict[str, Any]]:
    """Admin defaults and maximums for keys during the test; the previous settings come back after."""
    admin = await stack_api("admin")
    before = (await admin.get("/api/v1/admin/settings/api-keys")).json()
    wanted = {**before, "defaults": DEFAULTS, "maximums": MAXIMUMS}
    response = await admin.put("/api/v1/admin/settings/api-keys", json=wanted)
    assert response.status_code == 200, response.text
    yield wanted
    restored = await admin.put("/api/v1/admin/settings/api-keys", json=before)
    assert restored.status_code == 200, restored.text


async def _csrf(page: Page) -> str:
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    return cookies["litemaas_csrf"]


async def _api(page: Page, method: str, path: str, body: Any = None) -> Any:
    """A REST call with the browser's own session (cookies + CSRF header)."""
    response = await page.request.fetch(
        path,
        method=method,
        headers={"X-CSRF-Token": await _csrf(page), "Content-Type": "application/json"},
        data=json.dumps(body) if body is not None else None,
    )
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def _subscribe(page: Page, *models: str) -> None:
    for model in models:
        await _api(page, "POST", "/api/v1/subscriptions", {"model": model})


async def _secret_nowhere(page: Page, base_url: str, secret: str) -> None:
    """The secret is in no page or fragment, no browser storage and no cookie."""
    assert secret not in await page.content()
    storage = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert secret not in storage
    assert all(secret not in c["value"] for c in await page.context.cookies())
    for path in ("/keys", "/keys/table", "/keys/new"):
        response = await page.request.get(base_url + path)
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        assert secret not in await response.text()


async def _refused(secret: str, litellm_stack: Any) -> int:
    with pytest.raises(openai.APIStatusError) as refused:
        await chat(sdk(litellm_stack, secret), CHAT)
    return refused.value.status_code


async def _read_secret(page: Page) -> str:
    dialog = page.get_by_test_id("secret-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("secret-warning")).to_have_text("Copy this key now: you will not see it again.")
    secret = await dialog.get_by_test_id("secret-value").input_value()
    assert secret.startswith("sk-") and len(secret) > 20
    return secret


async def test_key_story_create_use_rotate_revoke(
    stack_login: Any, stack_portal_server: Any, litellm_stack: Any, key_settings: Any
) -> None:
    url = stack_portal_server.url
    page = await stack_login("user", next_path="/keys")
    await _subscribe(page, CHAT)
    await page.goto(url + "/keys")
    await expect(page.get_by_test_id("no-keys")).to_be_visible()

    # Create: the dialog offers the subscribed model, limits pre-filled with the admin defaults.
    await page.get_by_test_id("create-key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    await expect(dialog).to_be_visible()
    assert await dialog.get_by_test_id("limit-rpm_limit").input_value() == "30"
    assert await dialog.get_by_test_id("limit-max_budget").input_value() == "5.0"
    assert await dialog.get_by_test_id("limit-duration").input_value() == "30d"
    assert await dialog.get_by_test_id("limit-rpm_limit").get_attribute("max") == "120"
    await expect(dialog.get_by_text("Maximum: 120")).to_be_visible()
    await dialog.get_by_label("Name").fill("laptop")
    await expect(dialog.get_by_role("checkbox", name=CHAT)).to_be_checked()
    async with page.expect_response(lambda r: r.url == url + "/keys" and r.request.method == "POST") as answer:
        await dialog.get_by_test_id("create-submit").click()
    assert (await answer.value).headers["cache-control"] == "no-store"

    # The secret, once, with a copy button; the key works through the OpenAI SDK.
    secret = await _read_secret(page)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    await page.get_by_test_id("secret-copy").click()
    await expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await screenshot(page, "keys-secret-dialog")
    reply = await chat(sdk(litellm_stack, secret), CHAT, "hello from the keys page")
    assert reply.choices[0].message.content
    await page.get_by_test_id("secret-done").click()
    await expect(page.get_by_test_id("secret-dialog")).to_have_count(0)
    row = page.get_by_test_id("key-row").filter(has_text="laptop")
    await expect(row.get_by_test_id("key-display")).to_have_text(f"sk-…{secret[-4:]}")
    await expect(row.get_by_test_id("key-status")).to_have_text("Active")
    await expect(row.get_by_test_id("soft-mark")).to_have_count(1)
    await _secret_nowhere(page, url, secret)
    await check_page(page, "keys")

    # Rotate: the new secret is shown the same way (closed with Escape); the old one is refused.
    await row.get_by_test_id("rotate-key").click()
    await page.get_by_test_id("confirm-rotate").click()
    rotated = await _read_secret(page)
    assert rotated != secret
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("secret-dialog")).to_have_count(0)
    assert await _refused(secret, litellm_stack) in (400, 401, 403)
    assert (await chat(sdk(litellm_stack, rotated), CHAT)).choices[0].message.content
    await expect(row.get_by_test_id("key-display")).to_have_text(f"sk-…{rotated[-4:]}")
    await _secret_nowhere(page, url, rotated)

    # Revoke asks first; cancelling keeps the key, confirming makes the proxy refuse it.
    await row.get_by_test_id("revoke-key").click()
    await page.get_by_test_id("revoke-key-dialog").get_by_role("button", name="Cancel").click()
    await expect(page.get_by_test_id("revoke-key-dialog")).to_have_count(0)
    assert (await chat(sdk(litellm_stack, rotated), CHAT)).choices[0].message.content
    await row.get_by_test_id("revoke-key").click()
    await page.get_by_test_id("confirm-revoke").click()
    await expect(page.get_by_test_id("revoke-key-dialog")).to_have_count(0)
    await expect(row.get_by_test_id("key-status")).to_have_text("Revoked")
    assert await _refused(rotated, litellm_stack) in (400, 401, 403)
    await _secret_nowhere(page, url, rotated)


async def test_create_dialog_is_keyboard_operable(
    stack_login: Any, stack_portal_server: Any, key_settings: Any
) -> None:
    page = await stack_login("user", next_path="/keys")
    await _subscribe(page, CHAT, CHAT_2)
    await page.goto(stack_portal_server.url + "/keys")
    opener = page.get_by_test_id("create-key")
    await opener.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_test_id("create-key-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("Name")).to_be_focused()
    inside = "() => !!document.activeElement.closest('#create-key-dialog')"
    for _ in range(25):
        await page.keyboard.press("Tab")
        assert await page.evaluate(inside), "Tab left the dialog"
    for _ in range(25):
        await page.keyboard.press("Shift+Tab")
        assert await page.evaluate(inside), "Shift+Tab left the dialog"
    assert await axe_violations(page) == []
    await screenshot(page, "keys-create-dialog")
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(opener).to_be_focused()


async def test_limits_beyond_the_maximum_are_refused_in_the_dialog(
    stack_login: Any, stack_portal_server: Any, key_settings: Any
) -> None:
    page = await stack_login("user", next_path="/keys")
    await _subscribe(page, CHAT)
    await page.goto(stack_portal_server.url + "/keys")
    await page.get_by_test_id("create-key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    await dialog.get_by_label("Name").fill("too-fast")
    # Past the browser's own check: the server enforces the maximum and names the field.
    await page.evaluate("document.getElementById('create-rpm_limit').removeAttribute('max')")
    await dialog.get_by_test_id("limit-rpm_limit").fill("500")
    await dialog.get_by_test_id("create-submit").click()
    await expect(dialog.get_by_test_id("field-error-rpm_limit")).to_be_visible()
    await expect(dialog.get_by_test_id("limit-rpm_limit")).to_be_focused()
    await expect(page.get_by_test_id("secret-dialog")).to_have_count(0)
    keys = await _api(page, "GET", "/api/v1/keys")
    assert keys["items"] == []


async def test_a_user_never_sees_or_touches_another_users_keys(
    stack_login: Any, stack_portal_server: Any, stack_api: Any, litellm_stack: Any
) -> None:
    url = stack_portal_server.url
    owner = await stack_api("user")
    assert (await owner.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
    alias = f"owners-{uuid.uuid4().hex[:6]}"
    created = await owner.post("/api/v1/keys", json={"alias": alias, "models": [CHAT]})
    assert created.status_code == 201, created.text
    key = created.json()

    other = await stack_login("user", next_path="/keys")
    await _subscribe(other, CHAT)
    for path in ("/keys", "/keys/table", "/keys/new"):
        body = await (await other.request.get(url + path)).text()
        assert alias not in body and key["id"] not in body and key["display"] not in body
    headers = {"X-CSRF-Token": await _csrf(other), "HX-Request": "true"}
    for action in ("edit", "rotate", "revoke"):
        shown = await other.request.get(f"{url}/keys/{key['id']}/{action}", headers={"HX-Request": "true"})
        assert shown.status in (403, 404), (action, shown.status)
        assert alias not in await shown.text()
        done = await other.request.post(
            f"{url}/keys/{key['id']}/{action}", headers=headers, form={"alias": "stolen", "models": CHAT}
        )
        assert done.status in (403, 404), (action, done.status)
        assert alias not in await done.text() and key["key"] not in await done.text()
    # The owner's key is untouched and still works.
    mine = (await owner.get(f"/api/v1/keys/{key['id']}")).json()
    assert (mine["status"], mine["alias"], mine["last4"]) == ("active", alias, key["last4"])
    assert (await chat(sdk(litellm_stack, key["key"]), CHAT)).choices[0].message.content


async def test_keys_page_without_subscriptions_points_to_the_catalog(
    stack_login: Any, stack_portal_server: Any
) -> None:
    page = await stack_login("user", next_path="/keys")
    await page.goto(stack_portal_server.url + "/keys")
    await page.get_by_test_id("create-key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    await expect(dialog.get_by_test_id("no-subscriptions")).to_be_visible()
    await expect(dialog.get_by_test_id("create-submit")).to_be_disabled()


async def test_edit_alias_models_and_limits(
    stack_login: Any, stack_portal_server: Any, litellm_stack: Any, key_settings: Any
) -> None:
    page = await stack_login("user", next_path="/keys")
    await _subscribe(page, CHAT, CHAT_2)
    created = await _api(page, "POST", "/api/v1/keys", {"alias": "before", "models": [CHAT]})
    with pytest.raises(openai.APIStatusError):
        await chat(sdk(litellm_stack, created["key"]), CHAT_2)
    await page.goto(stack_portal_server.url + "/keys")
    row = page.get_by_test_id("key-row").filter(has_text="before")
    await row.get_by_test_id("edit-key").click()
    dialog = page.get_by_test_id("edit-key-dialog")
    await expect(dialog.get_by_label("Name")).to_have_value("before")
    assert await dialog.get_by_test_id("limit-rpm_limit").input_value() == "30"
    await dialog.get_by_label("Name").fill("after")
    await dialog.get_by_role("checkbox", name=CHAT_2).check()
    await dialog.get_by_test_id("limit-rpm_limit").fill("90")
    await dialog.get_by_test_id("edit-submit").click()
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_test_id("key-row").filter(has_text="after")).to_have_count(1)
    key = await _api(page, "GET", f"/api/v1/keys/{created['id']}")
    assert (key["alias"], sorted(key["models"]), key["rpm_limit"]) == ("after", sorted([CHAT, CHAT_2]), 90)
    assert key["tpm_limit"] == created["tpm_limit"]
    # LiteLLM follows: the key now reaches the added model.
    assert (await chat(sdk(litellm_stack, created["key"]), CHAT_2)).choices[0].message.content
