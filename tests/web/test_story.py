"""The attendee's story across the portal, in one real browser session, against the real stack.

Development login → catalog: subscribe to an open model, request a restricted one → keys: create a
key and read it from the show-once dialog → the key works through the OpenAI SDK → playground:
the answer streams (text on the page before the stream ends) → subscriptions page shows both →
revoke the key → the proxy refuses it. Each page is reached through the navigation, as a newcomer
would, not by typing URLs.
"""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest
from playwright.async_api import Page, expect

from tests.support.stack import CHAT, GUARD, chat, sdk


def _card_state(page: Page, model: str) -> Any:
    return page.locator(f'[data-testid="model-card"][data-model="{model}"] [data-testid="subscription"]')


async def _navigate(page: Page, label: str) -> None:
    """Follow the main navigation's link named ``label`` (opening the menu on a narrow screen)."""
    link = page.get_by_role("navigation").get_by_role("link", name=label, exact=True).first
    async with page.expect_navigation():
        await link.click()


async def test_attendee_story_from_login_to_revoked_key(
    stack_login: Any, stack_portal_server: Any, litellm_stack: Any
) -> None:
    username = f"attendee-{uuid.uuid4().hex[:8]}"
    page = await stack_login("user", username=username, next_path="/")

    # Logged in, the attendee lands on the catalog.
    assert page.url == stack_portal_server.url + "/catalog"
    await expect(page.get_by_test_id("username")).to_have_text(username)

    # Subscribe to an open chat model; request the restricted safety model with a reason.
    chat_state = _card_state(page, CHAT)
    await chat_state.get_by_test_id("subscribe").click()
    await expect(chat_state.get_by_test_id("subscription-status")).to_have_text("Active")
    guard_state = _card_state(page, GUARD)
    await guard_state.get_by_test_id("request-access").click()
    await guard_state.get_by_label("Why do you need this model?").fill("Safety lab of the workshop")
    await guard_state.get_by_test_id("send-request").click()
    await expect(guard_state.get_by_test_id("subscription-status")).to_have_text("Pending approval")

    # Keys: create one in the dialog, read it once.
    await _navigate(page, "API keys")
    await page.get_by_test_id("create-key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    await dialog.get_by_label("Name").fill("workshop-laptop")
    # Only the active subscription is offered; the pending restricted model is not.
    await expect(dialog.get_by_role("checkbox", name=CHAT)).to_be_checked()
    await expect(dialog.get_by_role("checkbox", name=GUARD)).to_have_count(0)
    await dialog.get_by_test_id("create-submit").click()
    secret_dialog = page.get_by_test_id("secret-dialog")
    await expect(secret_dialog).to_be_visible()
    secret = await secret_dialog.get_by_test_id("secret-value").input_value()
    assert secret.startswith("sk-")
    await secret_dialog.get_by_test_id("secret-done").click()
    await expect(secret_dialog).to_have_count(0)
    assert secret not in await page.content()

    # The key works from outside the portal, through the OpenAI SDK and the real proxy.
    reply = await chat(sdk(litellm_stack, secret), CHAT, "hello from the attendee story")
    assert reply.choices[0].message.content
    # The restricted model is not on the key while its request is pending.
    with pytest.raises(openai.APIStatusError) as pending:
        await chat(sdk(litellm_stack, secret), GUARD, "not yet")
    assert pending.value.status_code == 403
    assert "key_model_access_denied" in str(pending.value)

    # Playground: the answer streams in (text visible while Stop is still enabled).
    await _navigate(page, "Playground")
    await page.select_option("#pg-model", CHAT)
    await page.fill("#pg-prompt", "[[sim:itl_ms=150]] tell me a story")
    await page.click("#pg-send")
    answer = page.locator('[data-role="assistant"] .lm-playground__text').first
    await expect(answer).to_contain_text("Simulated answer", timeout=15_000)
    assert await page.locator("#pg-stop").is_enabled()
    assert await page.locator('[data-role="assistant"][data-outcome]').count() == 0
    await expect(page.locator('[data-role="assistant"][data-outcome="done"]')).to_have_count(1, timeout=30_000)

    # Subscriptions: both models, in their states.
    await _navigate(page, "Subscriptions")
    main = page.locator("main")
    await expect(main.get_by_text("Pending approval").first).to_be_visible()
    await expect(main.get_by_text(CHAT).first).to_be_visible()
    await expect(main.get_by_text(GUARD).first).to_be_visible()

    # Revoke the key; the proxy refuses it from then on.
    await _navigate(page, "API keys")
    row = page.get_by_test_id("key-row").filter(has_text="workshop-laptop")
    await row.get_by_test_id("revoke-key").click()
    await page.get_by_test_id("confirm-revoke").click()
    await expect(row.get_by_test_id("key-status")).to_have_text("Revoked")
    with pytest.raises(openai.APIStatusError) as refused:
        await chat(sdk(litellm_stack, secret), CHAT, "after revoke")
    assert refused.value.status_code in (400, 401, 403)
